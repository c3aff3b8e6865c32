import { requireEnv } from "../../runtime/env.js";
import { AnyEvent } from "../../runtime/envelope.js";
import { eventConsumerHandler } from "../../runtime/event-consumer.js";
import { FORWARDER_ENV } from "../contract.js";
import { forwardEvent } from "./forward.js";

const setBy = "the EventSubscription construct (fifo: true)";
const queueUrl = requireEnv(FORWARDER_ENV.queueUrl, setBy);
const groupIdPath = requireEnv(FORWARDER_ENV.messageGroupIdPath, setBy);

/** Moves events of any type and version unread: the consumer behind the FIFO queue validates. */
export const handler = eventConsumerHandler(AnyEvent, ({ sqs }) => ({
  process: (event) => forwardEvent(event, { sqs, queueUrl, groupIdPath }),
}));
