import { randomUUID } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { CHUNKED_JOB_KIND } from "../../../lambdas/chunked-job/chunked-job.js";
import { jobIdFor } from "../../../lib/spool/job-table/job-states.js";
import { spoolMessage } from "../../../lib/spool/runtime/producer.js";
import { bufferIo } from "../../cli/lib/io.js";
import { runSpool } from "../../cli/spool.js";
import { localEndpoint } from "../lib/local-cloud.js";
import { ok, say, seconds, step, waitWithProgress } from "../lib/narrate.js";
import type { DemoContext } from "./queues.js";
import { spool } from "./spool-cli.js";

const run = randomUUID().slice(0, 6);
const CHUNKS = 10;

interface ShownJob {
  readonly status: string;
  readonly progress?: { readonly done: number; readonly total: number };
}

/** The job as `spool jobs show --json` reads it, quietly (polled while the demo waits). */
async function shown(jobId: string): Promise<ShownJob | undefined> {
  const io = bufferIo();
  const code = await runSpool(["jobs", "show", jobId, "--json"], {
    io,
    env: { ...process.env, AWS_ENDPOINT_URL: localEndpoint() },
  });
  return code === 0 ? (JSON.parse(io.out()) as { job: ShownJob }).job : undefined;
}

async function sendJob(ctx: DemoContext, jobKey: string): Promise<string> {
  const queueUrl = ctx.output("ChunkedJobsQueueUrl");
  await ctx.clients.sqs.send(
    new SendMessageCommand(
      spoolMessage({
        queueUrl,
        body: { schemaVersion: 1, jobKey, chunks: CHUNKS, chunkMillis: 1_000 },
        correlationId: `demo-${jobKey}`,
      }),
    ),
  );
  return jobIdFor(CHUNKED_JOB_KIND, jobKey);
}

/**
 * Plain queue work as a job an operator can follow and stop: a ten-chunk export reports its
 * progress after each chunk; a second one is cancelled midway and stops before its next chunk.
 */
export async function jobProgressAndCancel(ctx: DemoContext): Promise<void> {
  step(`Jobs: a ${CHUNKS}-chunk queue job reports progress; another is cancelled midway`);
  const jobId = await sendJob(ctx, `demo-export-${run}`);
  say(`sent job ${jobId}: ${CHUNKS} chunks of about a second, progress reported after each`);
  await waitWithProgress(
    "it to be halfway",
    async () => ((await shown(jobId))?.progress?.done ?? 0) >= CHUNKS / 2,
    60_000,
  );
  await spool("jobs", "show", jobId);
  const { elapsedMs } = await waitWithProgress(
    "it to finish",
    async () => (await shown(jobId))?.status === "SUCCEEDED",
    60_000,
  );
  ok(`${jobId} SUCCEEDED at ${CHUNKS}/${CHUNKS}, ${seconds(elapsedMs)} after halfway`);

  say("");
  const cancelId = await sendJob(ctx, `demo-cancel-${run}`);
  say(`sent job ${cancelId}; cancel it once it has started`);
  await waitWithProgress(
    "it to report its first chunks",
    async () => ((await shown(cancelId))?.progress?.done ?? 0) >= 2,
    60_000,
  );
  await spool("jobs", "cancel", cancelId, "--reason", "demo: the customer withdrew the request");
  const { value: job } = await waitWithProgress(
    "the step to notice between chunks",
    async () => {
      const found = await shown(cancelId);
      return found?.status === "CANCELED" ? found : undefined;
    },
    30_000,
  );
  ok(
    `${cancelId} CANCELED at ${job.progress?.done ?? 0}/${CHUNKS}: the step checks between chunks, and the rest do no work`,
  );
  ctx.ledger.push({ message: `${jobId}`, outcome: `job SUCCEEDED, ${CHUNKS}/${CHUNKS}` });
  ctx.ledger.push({ message: `${cancelId}`, outcome: "job CANCELED midway by an operator" });
}
