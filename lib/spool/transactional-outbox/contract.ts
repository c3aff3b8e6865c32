/**
 * What the TransactionalOutbox construct and its runtime (the publisher, `outboxPut`) agree on.
 * SDK-free: the construct imports it at synth time.
 */

/** The partition key of the outbox table: the event id. */
export const OUTBOX_KEY_ATTRIBUTE = "id";
/** Set when a row is published or failed: published rows then expire; pending ones never do. */
export const OUTBOX_EXPIRY_ATTRIBUTE = "expiresAt";

/** The publisher's environment, written by the construct. */
export const PUBLISHER_ENV = {
  eventBusName: "EVENT_BUS_NAME",
  outboxTable: "OUTBOX_TABLE",
  deadLetterQueueUrl: "SPOOL_DEAD_LETTER_QUEUE_URL",
  publishedTtlSeconds: "SPOOL_PUBLISHED_TTL_SECONDS",
  publishAttempts: "SPOOL_PUBLISH_ATTEMPTS",
  streamFailureMode: "SPOOL_STREAM_FAILURE_MODE",
  /** PutEvents entries above this many bytes go to the payload store (with `payloadStore`). */
  offloadThresholdBytes: "SPOOL_OFFLOAD_THRESHOLD_BYTES",
} as const;

/**
 * The entry size (as EventBridge counts it: Time 14 bytes, Source, DetailType, Detail and
 * Resources in UTF-8) above which the publisher offloads an event to the payload store: 240 KiB.
 * PutEvents takes entries up to 1 MB since 2026 (runtime/limits.ts), but the entry limit was
 * "less than 256 KB" before and older documentation (and code written against it) still says so;
 * 240 KiB is under 256 KB read either way (256,000 or 262,144 bytes) with room to spare, so a
 * published event fits every reading, each delivery stays a few 64 KB billing chunks, and the
 * subscription queue's message keeps room for the dead-letter metadata a consumer adds.
 */
export const DEFAULT_EVENT_OFFLOAD_THRESHOLD_BYTES = 245_760;

/**
 * What `outboxPut` writes inline at most: an event JSON above this goes to the payload store and
 * the row holds the pointer. DynamoDB refuses items over 400 KB (409,600 bytes, counting
 * attribute names and values); the row's other attributes and the publisher's status fields
 * take well under the 59,600 bytes left.
 */
export const OUTBOX_ROW_EVENT_MAX_BYTES = 350_000;

/** "report": partial batch responses; "throw": fail the whole batch (streams that ignore them). */
export const STREAM_FAILURE_MODES = ["report", "throw"] as const;
export type StreamFailureMode = (typeof STREAM_FAILURE_MODES)[number];

/**
 * What the outbox's archive keeps by default: every event in Spool's envelope (an id and a
 * schema version in its detail), whatever its source, which is every event the publisher puts
 * on the bus. Plain data (an EventBridge pattern), so the contract stays SDK- and CDK-free.
 */
export const SPOOL_EVENT_ARCHIVE_PATTERN = {
  detail: { id: [{ exists: true }], schemaVersion: [{ exists: true }] },
};

/**
 * What `spool events replay` needs to know about a stack's events, published by the stack as a
 * JSON output (the example's `EventReplay`): the bus, the outbox table (the replay source where
 * there is no archive), the archive when there is one, and each subscription's rule and the
 * queue its rule delivers to (`$.detail` as the body).
 */
export interface EventReplayConfig {
  readonly eventBusName: string;
  readonly eventBusArn: string;
  readonly outboxTable: string;
  /** Absent where the stack declares no archive (the emulator's). */
  readonly archiveArn?: string;
  readonly subscriptions: Readonly<Record<string, EventReplaySubscription>>;
}

export interface EventReplaySubscription {
  readonly ruleArn: string;
  /** The queue the rule delivers to: the consumer's, or a FIFO subscription's inbox. */
  readonly targetQueueUrl: string;
}
