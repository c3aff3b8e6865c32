import { AnyEvent } from "../../runtime/envelope.js";
import { eventConsumerHandler } from "../../runtime/event-consumer.js";
import { forwardEvent } from "./forward.js";

/** Moves events of any type and version unread: the consumer behind the FIFO queue validates. */
export const handler = eventConsumerHandler(AnyEvent, ({ sqs }) => {
  const queueUrl = process.env.SPOOL_FORWARD_QUEUE_URL ?? "";
  const groupIdPath = process.env.SPOOL_MESSAGE_GROUP_ID_PATH ?? "";
  return { process: (event) => forwardEvent(event, { sqs, queueUrl, groupIdPath }) };
});
