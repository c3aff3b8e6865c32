import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { applyInSequence, SequencedMessage } from "./held.js";

export const handler = sqsConsumerHandler(SequencedMessage, (deps) => {
  const held = { db: documentClient(deps.dynamo), table: effectsTable() };
  return {
    idempotencyKey: (message) => `${message.runId}#${message.group}#${message.seq}`,
    process: (message) => applyInSequence(message, held),
  };
});
