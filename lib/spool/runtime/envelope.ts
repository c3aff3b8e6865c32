import { randomUUID } from "node:crypto";
import type { ZodType } from "zod";
import * as z from "zod";
import { newCorrelationId } from "./correlation.js";
import { PermanentError } from "./errors.js";
import { TENANT_ID_PATTERN } from "./tenant.js";

/**
 * The envelope every Spool event travels in, whatever carries it (outbox row, EventBridge
 * `detail`, SQS body):
 *
 * - `id`: unique per event and stable across re-publishing, so consumers deduplicate by it;
 * - `type`: what happened (`OrderPlaced`), the routing key of the bus rules;
 * - `schemaVersion`: `major.minor`. A minor adds optional fields (old readers ignore them), a
 *   major changes meaning, so a consumer accepts only the majors it was written for;
 * - `time`, `source`, `correlationId`: when, which producer, which request it belongs to;
 * - `tenantId` (optional, a minor addition): whose work it is (tenant.ts); a consumer holds each
 *   tenant to its in-flight quota and reports metrics per tenant by it;
 * - `data`: the payload, described by `type` and `schemaVersion`.
 */
export interface SpoolEvent<D = unknown> {
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: string;
  readonly time: string;
  readonly source: string;
  readonly correlationId: string;
  /** The tenant the event belongs to, when the producer has tenants. */
  readonly tenantId?: string;
  readonly data: D;
}

/** `major.minor`, no leading zeros. */
export const SCHEMA_VERSION_PATTERN = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;
/**
 * Event ids are also SQS FIFO deduplication ids (≤ 128 characters, printable ASCII) and
 * DynamoDB keys, so they are held to the stricter of the two.
 */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const EVENT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9._-]{0,127}$/;
/** EventBridge refuses sources starting with `aws.`; keep producers clear of it. */
const SOURCE_PATTERN = /^(?!aws\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$/;
const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The code a consumer dead-letters an event with when it cannot read the event's major. */
export const SCHEMA_VERSION_UNSUPPORTED = "SCHEMA_VERSION_UNSUPPORTED";

export function majorOf(schemaVersion: string): number | undefined {
  const match = SCHEMA_VERSION_PATTERN.exec(schemaVersion);
  return match ? Number(match[1]) : undefined;
}

export interface NewEvent<D> {
  readonly type: string;
  readonly schemaVersion: string;
  readonly source: string;
  readonly data: D;
  /** @default a new correlation id */
  readonly correlationId?: string;
  /** @default a random UUID */
  readonly id?: string;
  /** @default now */
  readonly time?: Date;
  /** 1–128 letters, digits or `. _ : -`. @default - no tenant */
  readonly tenantId?: string;
}

/** A new event; throws on a malformed type, version, source or id (a producer bug). */
export function createEvent<D>(input: NewEvent<D>): SpoolEvent<D> {
  const event: SpoolEvent<D> = {
    id: input.id ?? randomUUID(),
    type: input.type,
    schemaVersion: input.schemaVersion,
    time: (input.time ?? new Date()).toISOString(),
    source: input.source,
    correlationId: input.correlationId ?? newCorrelationId(),
    ...(input.tenantId !== undefined ? { tenantId: input.tenantId } : {}),
    data: input.data,
  };
  const checked = EnvelopeFields.safeParse(event);
  if (!checked.success) {
    throw new Error(
      `invalid event envelope: ${checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return event;
}

/** The envelope's own fields; `data` is left to the event's schema. */
const EnvelopeFields = z.object({
  id: z.string().regex(EVENT_ID_PATTERN, "id: 1–128 letters, digits or . _ : -"),
  type: z.string().regex(EVENT_TYPE_PATTERN, "type: a letter, then up to 127 of [A-Za-z0-9._-]"),
  schemaVersion: z.string().regex(SCHEMA_VERSION_PATTERN, 'schemaVersion: "major.minor"'),
  time: z.iso.datetime({ offset: true }),
  source: z.string().regex(SOURCE_PATTERN, "source: 1–256 safe characters, not aws.*"),
  correlationId: z.string().regex(CORRELATION_ID_PATTERN, "correlationId: 1–128 safe characters"),
  tenantId: z
    .string()
    .regex(TENANT_ID_PATTERN, "tenantId: 1–128 letters, digits or . _ : -")
    .optional(),
});

/**
 * Any well-formed envelope, of any type and version: for code that moves events unread. Loose,
 * so fields a newer envelope adds are carried along rather than dropped.
 */
export const AnyEvent: ZodType<SpoolEvent<unknown>> = EnvelopeFields.extend({
  data: z.unknown(),
}).loose() as unknown as ZodType<SpoolEvent<unknown>>;

/**
 * An EventBridge event (`{ "detail-type", source, detail, … }`) → its `detail`, the Spool
 * envelope. Anything else is returned as it is, so a consumer reads events whether its queue
 * receives the bare envelope (Spool's subscriptions deliver `$.detail`) or the whole
 * EventBridge event (a target someone wired without an input path).
 */
export function unwrapEventBridge(body: unknown): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
  const record = body as Record<string, unknown>;
  if (
    typeof record["detail-type"] === "string" &&
    record.detail !== null &&
    typeof record.detail === "object"
  ) {
    return record.detail;
  }
  return body;
}

export interface EventSchemaOptions<D> {
  /** The event type this consumer reads; any other type fails validation. */
  readonly type: string;
  /** The schema major this consumer was written for; newer minors are accepted. */
  readonly major: number;
  /**
   * The fields of `data` this consumer uses. Objects are not strict: fields the consumer does
   * not know (a newer minor's additions) are dropped, not refused.
   */
  readonly data: ZodType<D>;
}

/**
 * The schema a consumer validates its events with.
 *
 * The major version is checked before the payload, and an unsupported major throws a
 * `PermanentError` (`SCHEMA_VERSION_UNSUPPORTED`) instead of reporting a schema issue: zod lets
 * errors thrown in a preprocess step propagate out of `safeParse` (documented: "thrown errors
 * are not caught"), so the consumer dead-letters the event with that precise reason rather
 * than a generic "does not match" about fields the consumer was never meant to read.
 */
export function eventSchema<D>(options: EventSchemaOptions<D>): ZodType<SpoolEvent<D>> {
  if (!Number.isInteger(options.major) || options.major < 0) {
    throw new Error(`major must be a whole number >= 0, got ${options.major}`);
  }
  const shape = EnvelopeFields.extend({
    type: z.literal(options.type),
    data: options.data,
  });
  return z.preprocess((raw) => {
    const value = unwrapEventBridge(raw);
    if (value !== null && typeof value === "object") {
      const version = (value as Record<string, unknown>).schemaVersion;
      const major = typeof version === "string" ? majorOf(version) : undefined;
      if (major !== undefined && major !== options.major) {
        throw new PermanentError(
          `${options.type} schemaVersion ${version} is not supported: this consumer reads major ${options.major} (${options.major}.x)`,
          {
            code: SCHEMA_VERSION_UNSUPPORTED,
            details: {
              type: (value as Record<string, unknown>).type,
              schemaVersion: version,
              supportedMajor: options.major,
            },
          },
        );
      }
    }
    return value;
  }, shape) as unknown as ZodType<SpoolEvent<D>>;
}
