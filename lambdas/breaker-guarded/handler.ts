import { dependencyBreaker } from "../../lib/spool/runtime/circuit-breaker.js";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { GUARDED_BREAKER, GUARDED_DEPENDENCY } from "./contract.js";
import { GuardedMessage, guardedStep } from "./guarded.js";

export const handler = sqsConsumerHandler(GuardedMessage, (deps) => {
  const breaker = dependencyBreaker(GUARDED_DEPENDENCY, GUARDED_BREAKER, deps);
  const guarded = { db: documentClient(deps.dynamo), table: effectsTable(), breaker };
  return {
    idempotencyKey: (message) => `${message.runId}#${message.id}`,
    process: (message, ctx) => guardedStep(message, ctx.attempt, guarded),
  };
});
