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
} as const;

/** "report": partial batch responses; "throw": fail the whole batch (streams that ignore them). */
export const STREAM_FAILURE_MODES = ["report", "throw"] as const;
export type StreamFailureMode = (typeof STREAM_FAILURE_MODES)[number];
