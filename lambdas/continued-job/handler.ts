import { queueJobs } from "../../lib/spool/job-table/runtime/queue-jobs.js";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { continuationKey } from "../../lib/spool/runtime/continuation.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { ContinuedJobMessage, runContinuedJobChunk } from "./continued-job.js";

export const handler = sqsConsumerHandler(ContinuedJobMessage, ({ dynamo, sqs }) => {
  const db = documentClient(dynamo);
  const deps = {
    db,
    sqs,
    table: effectsTable(),
    now: () => new Date(),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
  return {
    // Each message of the chain is its own work (a duplicate of one is suppressed) ...
    idempotencyKey: (message) => continuationKey(message.jobKey, message.cursor),
    // ... and all of them are the one job continued-job:<jobKey>.
    jobKey: (message) => message.jobKey,
    jobs: queueJobs(db),
    process: (message, ctx) => runContinuedJobChunk(message, ctx, deps),
  };
});
