import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { RateLimitedMessage, recordStart } from "./rate-limited.js";

export const handler = sqsConsumerHandler(RateLimitedMessage, ({ dynamo }) => {
  const deps = { db: documentClient(dynamo), table: effectsTable(), now: () => new Date() };
  return {
    idempotencyKey: (message) => `${message.runId}#${message.id}`,
    process: (message, ctx) => recordStart(message, ctx.attempt, deps),
  };
});
