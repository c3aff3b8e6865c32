/**
 * What the EventSubscription construct and its forwarder agree on. SDK-free: the construct
 * imports it at synth time.
 */

/** The FIFO forwarder's environment, written by the construct. */
export const FORWARDER_ENV = {
  /** The subscription's FIFO queue. */
  queueUrl: "SPOOL_FORWARD_QUEUE_URL",
  /** Where in the event the message group id is, e.g. `data.orderId`. */
  messageGroupIdPath: "SPOOL_MESSAGE_GROUP_ID_PATH",
} as const;
