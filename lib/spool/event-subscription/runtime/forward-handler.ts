import { optionalEnv, requireEnv } from "../../runtime/env.js";
import { AnyEvent } from "../../runtime/envelope.js";
import { eventConsumerHandler } from "../../runtime/event-consumer.js";
import { s3Offload } from "../../runtime/payload-objects-s3.js";
import { PAYLOAD_BUCKET_ENV } from "../../runtime/payload-switch.js";
import { FORWARDER_ENV } from "../contract.js";
import { forwardEvent } from "./forward.js";

const setBy = "the EventSubscription construct (fifo: true)";
const queueUrl = requireEnv(FORWARDER_ENV.queueUrl, setBy);
const groupIdPath = requireEnv(FORWARDER_ENV.messageGroupIdPath, setBy);
const bucket = optionalEnv(PAYLOAD_BUCKET_ENV);
// Compared first so a bundle built without a store folds it away with the S3 adapter
// (payload-switch.ts).
const offload =
  process.env.SPOOL_PAYLOAD_S3_BUNDLED !== "false" && bucket ? s3Offload(bucket) : undefined;

/** Moves events of any type and version unread: the consumer behind the FIFO queue validates. */
export const handler = eventConsumerHandler(AnyEvent, ({ sqs }) => ({
  process: (event) => forwardEvent(event, { sqs, queueUrl, groupIdPath, offload }),
}));
