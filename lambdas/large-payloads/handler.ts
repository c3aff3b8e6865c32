import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { LargePayloadMessage, recordBody } from "./large-payloads.js";

// The stack gives this consumer a PayloadStore (SPOOL_PAYLOAD_BUCKET): the toolkit's defaults
// resolve claim-check pointers through S3 before the schema sees the body.
export const handler = sqsConsumerHandler(LargePayloadMessage, ({ dynamo }) => {
  const deps = { db: documentClient(dynamo), table: effectsTable() };
  return {
    idempotencyKey: (message) => `${message.runId}#${message.id}`,
    process: (message) => recordBody(message, deps),
  };
});
