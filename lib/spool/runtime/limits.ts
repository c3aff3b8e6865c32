/**
 * The AWS size limits Spool checks before AWS would refuse (so it can dead-letter with a clear
 * code instead of retrying what can never pass), each in one place: when AWS changes one, this is
 * the one edit. No imports: constructs, Lambda code and the tools may all use it.
 */

/**
 * SQS: the largest message, body and attributes together: 1 MiB (1,048,576 bytes), raised from
 * 256 KiB in 2025. Source: the SendMessage API reference ("The maximum size is 1 MiB or 1,048,576
 * bytes") and AWS's announcement that SQS, EventBridge and asynchronous Lambda invocations take
 * payloads up to 1 MB.
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * EventBridge PutEvents: the entries of one call together (and so one entry) must be less than
 * 1 MB, raised from 256 KB. Source: the PutEvents API reference ("the total entry size must be
 * less than 1MB") and the same announcement. Read as a decimal megabyte: the stricter reading,
 * and it leaves room for the envelope EventBridge wraps around an event it delivers to an SQS
 * queue, which must still fit SQS_MAX_MESSAGE_BYTES.
 */
export const EVENTBRIDGE_PUT_EVENTS_BYTES = 1_000_000;

/**
 * EventBridge Scheduler: the largest target input, 256 KB (Target API reference: "The maximum
 * size of the Input field is 256 KB"), unchanged by the 2025 raise.
 */
export const SCHEDULER_MAX_INPUT_BYTES = 262_144;

/** "1 MiB", "256 KiB", "1,000,000 bytes": a limit as people read it. */
export function describeBytes(bytes: number): string {
  if (bytes % 1_048_576 === 0) return `${bytes / 1_048_576} MiB`;
  if (bytes % 1_024 === 0) return `${bytes / 1_024} KiB`;
  return `${bytes.toLocaleString("en-US")} bytes`;
}
