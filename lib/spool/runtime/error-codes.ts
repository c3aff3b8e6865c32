/**
 * Spool's error codes: a public contract. Operators filter dead letters by them
 * (`spool dlq replay --error-code …`), alarms and dashboards match them, and a code that changes
 * silently breaks all of that. Every code the library raises or writes into dead-letter metadata
 * is listed here once, with its class and what it means.
 *
 * SDK-free: the CLI and the constructs' docs read this catalogue too.
 *
 * ## Adding your own codes
 *
 * `TransientError` and `PermanentError` accept only codes of `ErrorCodeRegistry`, and each class
 * only the codes of its kind. An application registers its own codes by declaring the same
 * interface again (TypeScript merges the declarations), extending it with its catalogue:
 *
 * ```ts
 * export const ORDER_ERROR_CODES = {
 *   PAYMENT_DECLINED: { kind: "permanent", meaning: "the card was declined" },
 * } as const satisfies ErrorCodeCatalogue;
 *
 * declare module "../lib/spool/runtime/error-codes.js" {
 *   interface ErrorCodeRegistry extends OrderErrorCodes {}
 * }
 * type OrderErrorCodes = typeof ORDER_ERROR_CODES;
 * ```
 *
 * Why a merged interface rather than a generic parameter on the error classes: a generic would
 * infer any string literal (so typing nothing), or make every `throw` name its catalogue. The
 * merged registry keeps `new PermanentError(msg, { code: "PAYMENT_DECLINED" })` as it is, refuses
 * a typo or a code of the wrong kind at compile time, and makes a clash with a library code a
 * compile error (two declarations giving one property different types). The library never
 * imports the application: the application's catalogue is a runtime object it owns, which its
 * own tools (such as the `spool` CLI) can read next to `SPOOL_ERROR_CODES`.
 */

import { describeBytes, SCHEDULER_MAX_INPUT_BYTES } from "./limits.js";

/** What retrying a failed record can do: transient failures are retried, permanent ones are not. */
export type FailureKind = "transient" | "permanent";

export interface ErrorCodeEntry {
  readonly kind: FailureKind;
  /** One line an operator reads next to the code. */
  readonly meaning: string;
}

/** A catalogue of codes: the library's, or an application's that extends the registry. */
export type ErrorCodeCatalogue = Readonly<Record<string, ErrorCodeEntry>>;

/** Every code the library raises or writes into dead-letter metadata. */
export const SPOOL_ERROR_CODES = {
  // The error classes' defaults, for a throw that names no code.
  TRANSIENT: { kind: "transient", meaning: "a TransientError thrown without a code" },
  PERMANENT: { kind: "permanent", meaning: "a PermanentError thrown without a code" },
  UNCLASSIFIED: {
    kind: "transient",
    meaning: "an error that is not Spool's (a bug, a network error, throttling): retried",
  },

  // The queue consumer (runtime/sqs-consumer.ts) and classify().
  MALFORMED_JSON: { kind: "permanent", meaning: "the message body is not valid JSON" },
  SCHEMA_INVALID: {
    kind: "permanent",
    meaning: "the message does not match its schema (the issues are in the details)",
  },
  SCHEMA_VERSION_UNSUPPORTED: {
    kind: "permanent",
    meaning: "the event's major schema version is not the one this consumer reads",
  },
  IDEMPOTENCY_KEY_MISSING: {
    kind: "permanent",
    meaning: "the consumer's idempotencyKey gave no key for the message",
  },
  IDEMPOTENCY_KEY_REUSED: {
    kind: "permanent",
    meaning: "the idempotency key was already used for a message with different content",
  },
  DUPLICATE_IN_PROGRESS: {
    kind: "transient",
    meaning: "another delivery of the same key is still running: retried after its lease",
  },
  RECORD_DEADLINE: {
    kind: "transient",
    meaning: "the record did not finish (or start) before the invocation's deadline",
  },
  PAYLOAD_UNRESOLVABLE: {
    kind: "permanent",
    meaning:
      "the claim-check pointer is malformed, not in the payload store, or its object is gone or altered",
  },
  PAYLOAD_STORE_UNREADABLE: {
    kind: "transient",
    meaning: "the payload store could not be read (throttling, network): retried",
  },
  BLOCKED_BY_GROUP: {
    kind: "transient",
    meaning: "skipped behind a failed earlier message of its FIFO group on its last attempt",
  },
  GROUP_HELD: {
    kind: "permanent",
    meaning:
      "not run: its FIFO group is held behind a dead-lettered earlier message; replay the group in order",
  },
  DEPENDENCY_OPEN: {
    kind: "transient",
    meaning: "the dependency's circuit breaker is open: not called, retried after its cool-down",
  },

  // AWS errors that classify() reads as permanent: the request itself is wrong.
  ValidationException: { kind: "permanent", meaning: "AWS refused the request as invalid" },
  InvalidParameterValueException: {
    kind: "permanent",
    meaning: "AWS refused a parameter value of the request",
  },
  InvalidParameterException: { kind: "permanent", meaning: "AWS refused a request parameter" },
  SerializationException: { kind: "permanent", meaning: "AWS could not read the request" },

  // Fault injection (test deployments only).
  INJECTED_TRANSIENT: { kind: "transient", meaning: "an injected transient failure" },
  INJECTED_PERMANENT: { kind: "permanent", meaning: "an injected permanent failure" },
  INJECTED_UNKNOWN: { kind: "permanent", meaning: "the fault directive is not one Spool knows" },
  INJECTED_REJECTION: {
    kind: "permanent",
    meaning: "a saga step rejected by fault injection, as a business rule would",
  },

  // TransactionalOutbox: the publisher's dead letters.
  OUTBOX_ROW_UNREADABLE: {
    kind: "permanent",
    meaning: "the outbox stream record holds no readable row (no image, no JSON event)",
  },
  OUTBOX_EVENT_INVALID: {
    kind: "permanent",
    meaning: "the outbox row holds a malformed envelope, or one whose id is not the row's",
  },
  OUTBOX_UNPUBLISHED: {
    kind: "transient",
    meaning: "outbox events are not published yet; the stream retries the batch",
  },
  ENTRY_TOO_LARGE: {
    kind: "permanent",
    meaning:
      "the event is larger than EventBridge accepts for one entry (1 MB) and the outbox has no payloadStore",
  },
  MalformedDetail: { kind: "permanent", meaning: "EventBridge refused the event's detail" },
  InvalidArgument: { kind: "permanent", meaning: "EventBridge refused an argument of the entry" },

  // EventSubscription: the FIFO forwarder.
  MESSAGE_GROUP_ID_INVALID: {
    kind: "permanent",
    meaning: "the event has no usable message group id at the subscription's path",
  },

  // DelayedTasks.
  TASK_TIME_INVALID: {
    kind: "permanent",
    meaning: "a task needs exactly one of runAt (a date) and delay (seconds >= 0)",
  },
  TASK_TIME_IN_PAST: { kind: "permanent", meaning: "the task's runAt is in the past" },
  TASK_DELAY_TOO_LONG: {
    kind: "permanent",
    meaning: "the task is due further ahead than the DelayedTasks maxDelay (365 days at most)",
  },
  TASK_KEY_INVALID: {
    kind: "permanent",
    meaning: "the task key is not 1–512 printable ASCII characters without spaces",
  },
  TASK_TARGET_NOT_ALLOWED: {
    kind: "permanent",
    meaning: "the task's target is not one the DelayedTasks construct allows",
  },
  TASK_PAYLOAD_INVALID: { kind: "permanent", meaning: "the task has no payload" },
  TASK_PAYLOAD_TOO_LARGE: {
    kind: "permanent",
    // From limits.ts, so the catalogue follows the limit when AWS raises it.
    meaning: `the task message is larger than the Scheduler's input limit (${describeBytes(SCHEDULER_MAX_INPUT_BYTES)}) and the DelayedTasks has no payloadStore`,
  },
  TASK_KEY_CONFLICT: {
    kind: "permanent",
    meaning: "the task key is taken by a task with another payload or target",
  },
  TASK_CANCELLED: {
    kind: "permanent",
    meaning: "the task was cancelled; scheduling it again needs a new key",
  },
  TASK_SCHEDULE_NAME_TAKEN: {
    kind: "permanent",
    meaning: "the task's one-time schedule name belongs to another task",
  },
  TASK_UNKNOWN: {
    kind: "permanent",
    meaning: "a delivered task has no task record (expired or never scheduled)",
  },
  TASK_NOT_DUE: {
    kind: "transient",
    meaning: "a task reached deliverTask before its due time: retried when it is due",
  },

  // RecurringJob.
  RUN_TIME_INVALID: { kind: "permanent", meaning: "the run message's scheduledTime is not a time" },
  RUN_TIME_UNRESOLVED: {
    kind: "permanent",
    meaning: "the job's schedule has no occurrence at or before the run message was sent",
  },
  RUN_IN_PROGRESS: {
    kind: "transient",
    meaning: "the run is held by another delivery: retried after its lease",
  },
  JOB_RUNNING: {
    kind: "transient",
    meaning: "another run of an exclusive job is still running; this run waits for it",
  },
  JOB_UNKNOWN: { kind: "permanent", meaning: "the run names a job this worker does not serve" },

  // SagaWorkflow.
  INVALID_PAYLOAD: { kind: "permanent", meaning: "the saga step's payload is malformed" },
  INVALID_REQUEST: { kind: "permanent", meaning: "the request does not match its schema" },
  UNKNOWN_STEP: { kind: "permanent", meaning: "no action or compensation is defined for the step" },
  CALLBACK_NOT_HANDED_ON: {
    kind: "permanent",
    meaning:
      "a callback step's action said no (rejected or failed), so its token was not handed on",
  },
  JOB_NOT_WAITING: {
    kind: "permanent",
    meaning: "a callback step's job is no longer RUNNING in this execution: nobody could answer it",
  },
  EXECUTION_NAME_REUSED: {
    kind: "permanent",
    meaning: "the execution name was used for a different input (a business-key collision)",
  },
} as const satisfies ErrorCodeCatalogue;

type SpoolErrorCodes = typeof SPOOL_ERROR_CODES;

/**
 * The codes the error classes accept: the library's, and whatever an application merges in
 * (see the top of this file). Each property is a code, its type that code's entry.
 */
export interface ErrorCodeRegistry extends SpoolErrorCodes {}

export type ErrorCode = keyof ErrorCodeRegistry & string;

/** The registered codes of one kind. */
export type ErrorCodeOf<K extends FailureKind> = {
  [C in ErrorCode]: ErrorCodeRegistry[C]["kind"] extends K ? C : never;
}[ErrorCode];

export type TransientCode = ErrorCodeOf<"transient">;
export type PermanentCode = ErrorCodeOf<"permanent">;

/** Why a consumer dead-lettered a record: the `reason` of the dead-letter metadata. */
export const DEAD_LETTER_REASONS = {
  "permanent-failure": "a permanent failure: dead-lettered at once, on any attempt",
  "retries-exhausted": "a transient failure on the queue's maxReceiveCount-th delivery",
  "group-held":
    "not run: a FIFO record parked behind its group's dead-lettered head (holdGroupOnDeadLetter)",
} as const;

export type DeadLetterReason = keyof typeof DEAD_LETTER_REASONS;
