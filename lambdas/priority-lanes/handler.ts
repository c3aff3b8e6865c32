import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { LanedMessage, workThenRecord } from "./priority-lanes.js";

export const handler = sqsConsumerHandler(LanedMessage, ({ dynamo }) => {
  const deps = {
    db: documentClient(dynamo),
    table: effectsTable(),
    now: () => new Date(),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
  return {
    // Lane-free: the same message sent to both lanes runs once (the lanes share a key space).
    idempotencyKey: (message) => `${message.runId}#${message.id}`,
    process: (message) => workThenRecord(message, deps),
  };
});
