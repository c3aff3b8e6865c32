/**
 * Spool's failure taxonomy. Every consumer decides what to do with a failed record from the
 * class of its error alone, so the classification lives in one place.
 *
 * - TransientError: worth retrying (timeouts, throttling, 5xx, a duplicate still in progress).
 * - PermanentError: retrying cannot help (bad schema, broken JSON, a business rule, a key reused
 *   with different content). The record goes to the dead-letter queue at once.
 * - Anything else is treated as transient: a bug that a deploy can fix should not lose messages.
 *
 * Codes come from the catalogue in error-codes.ts (an application merges its own codes into it),
 * and each class takes only the codes of its kind.
 */
import type { ErrorCode, FailureKind, PermanentCode, TransientCode } from "./error-codes.js";

export type { FailureKind } from "./error-codes.js";

export interface SpoolErrorOptions<C extends ErrorCode = ErrorCode> {
  /** A short, stable, machine-readable code from the catalogue, e.g. `SCHEMA_INVALID`. */
  readonly code: C;
  readonly cause?: unknown;
  /** Extra facts for the operator; must be JSON-serialisable. */
  readonly details?: Record<string, unknown>;
}

export class TransientError extends Error {
  override readonly name = "TransientError";
  readonly kind: FailureKind = "transient";
  readonly code: TransientCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: SpoolErrorOptions<TransientCode> = { code: "TRANSIENT" }) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.details = options.details;
  }
}

export class PermanentError extends Error {
  override readonly name = "PermanentError";
  readonly kind: FailureKind = "permanent";
  readonly code: PermanentCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: SpoolErrorOptions<PermanentCode> = { code: "PERMANENT" }) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.details = options.details;
  }
}

/** Error names that Powertools idempotency throws, matched by name so the check survives bundling. */
const IDEMPOTENCY_PAYLOAD_MISMATCH = "IdempotencyValidationError";
const IDEMPOTENCY_IN_PROGRESS = "IdempotencyAlreadyInProgressError";

/**
 * AWS error names that mean "the request itself is wrong": retrying sends the same wrong request.
 * Throttling, 5xx and network errors are not here, so they stay transient.
 */
const PERMANENT_AWS_ERRORS: ReadonlySet<string> = new Set<PermanentCode>([
  "ValidationException",
  "InvalidParameterValueException",
  "InvalidParameterException",
  "SerializationException",
]);

function isPermanentAwsError(name: string): name is PermanentCode {
  return PERMANENT_AWS_ERRORS.has(name);
}

export interface Classified {
  readonly kind: FailureKind;
  /** The class a human reads in the dead-letter metadata (`PermanentError`, `TimeoutError`, …). */
  readonly errorClass: string;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** Decides whether an error is transient or permanent. Unknown errors are transient. */
export function classify(error: unknown): Classified {
  if (error instanceof PermanentError || error instanceof TransientError) {
    return {
      kind: error.kind,
      errorClass: error.name,
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    };
  }
  if (error instanceof Error) {
    if (error.name === IDEMPOTENCY_PAYLOAD_MISMATCH) {
      return {
        kind: "permanent",
        errorClass: error.name,
        code: "IDEMPOTENCY_KEY_REUSED",
        message: "the idempotency key was already used for a message with different content",
      };
    }
    if (error.name === IDEMPOTENCY_IN_PROGRESS) {
      return {
        kind: "transient",
        errorClass: error.name,
        code: "DUPLICATE_IN_PROGRESS",
        message: error.message,
      };
    }
    if (isPermanentAwsError(error.name)) {
      return {
        kind: "permanent",
        errorClass: error.name,
        code: error.name,
        message: error.message,
      };
    }
    return {
      kind: "transient",
      errorClass: error.name,
      code: "UNCLASSIFIED",
      message: error.message,
    };
  }
  return {
    kind: "transient",
    errorClass: typeof error,
    code: "UNCLASSIFIED",
    message: String(error),
  };
}
