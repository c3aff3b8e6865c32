import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { doLongWork, LongWorkMessage } from "./long-work.js";

export const handler = sqsConsumerHandler(LongWorkMessage, ({ dynamo }) => {
  const deps = {
    db: documentClient(dynamo),
    table: effectsTable(),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
  return {
    // No idempotency table on this consumer: every execution must show in the counters.
    idempotencyKey: (message) => message.id,
    process: (message, ctx) => doLongWork(message, ctx.attempt, deps),
  };
});
