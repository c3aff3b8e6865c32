import { queueJobs } from "../../lib/spool/job-table/runtime/queue-jobs.js";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { ChunkedJobMessage, runChunkedJob } from "./chunked-job.js";

export const handler = sqsConsumerHandler(ChunkedJobMessage, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const deps = {
    db,
    table: effectsTable(),
    now: () => new Date(),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
  return {
    idempotencyKey: (message) => message.jobKey,
    // Each message is the job chunked-job:<jobKey> in the table the stack's `jobs` prop names.
    jobs: queueJobs(db),
    process: (message, ctx) => runChunkedJob(message, ctx, deps),
  };
});
