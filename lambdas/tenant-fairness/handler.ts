import { setTimeout as sleep } from "node:timers/promises";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { doTenantWork, TenantWorkMessage } from "./tenant-fairness.js";

export const handler = sqsConsumerHandler(TenantWorkMessage, ({ dynamo }) => {
  const deps = {
    db: documentClient(dynamo),
    table: effectsTable(),
    now: () => new Date(),
    sleep: (ms: number) => sleep(ms).then(() => undefined),
  };
  return {
    idempotencyKey: (message) => `${message.runId}#${message.tenantId}#${message.id}`,
    process: (message, ctx) => doTenantWork(message, ctx.attempt, deps),
  };
});
