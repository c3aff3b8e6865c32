/**
 * Job tracking for plain queue work on the emulator: the chunked-job consumer
 * (lib/example/parts/chunked-jobs.ts) runs each message as the job chunked-job:<key>, ten
 * one-second chunks that each leave an effect item, reporting progress after each and checking
 * for a cancel before each. What an operator sees is read through the CLI (`spool jobs show`,
 * `spool jobs cancel`, in-process as the other CLI tests run it).
 */

import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { CHUNKED_JOB_KIND, chunkedJobKey } from "../../../../lambdas/chunked-job/chunked-job.js";
import { jobIdFor } from "../../../../lib/spool/job-table/job-states.js";
import type { JobRecord } from "../../../../lib/spool/job-table/runtime/jobs.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import { DynamoJobCancelAudit } from "../../../../tools/cli/lib/change-audits.js";
import {
  ddb,
  functionLogLines,
  output,
  queueCounts,
  sqs,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";
import { spool } from "../../../helpers/operations.js";

const CHUNKS = 10;

async function sendJob(jobKey: string): Promise<void> {
  const queueUrl = output("ChunkedJobsQueueUrl");
  const { MessageBody, MessageAttributes } = spoolMessage({
    queueUrl,
    body: { schemaVersion: 1, jobKey, chunks: CHUNKS, chunkMillis: 1_000 },
    correlationId: `corr-${jobKey}`,
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody, MessageAttributes }));
}

/** The job as `spool jobs show --json` prints it (undefined while nobody recorded it). */
async function show(jobId: string): Promise<JobRecord | undefined> {
  const { code, json } = await spool("jobs", "show", jobId, "--json");
  return code === 0 ? (json.job as JobRecord) : undefined;
}

/** The effect items the step left: one per chunk done, and `stopped` when it stopped. */
async function effects(jobKey: string) {
  const { Items = [] } = await ddb.send(
    new QueryCommand({
      TableName: output("EffectsTableName"),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": chunkedJobKey(jobKey, "").pk },
      ConsistentRead: true,
    }),
  );
  const chunks = Items.filter((i) => String(i.sk).startsWith("chunk#")).map(
    (i) => i.chunk as number,
  );
  const stopped = Items.find((i) => i.sk === "stopped") as { beforeChunk: number } | undefined;
  return { chunks: chunks.sort((a, b) => a - b), stopped };
}

async function drained(queue: string) {
  const counts = await queueCounts(output(queue));
  return counts.visible + counts.inFlight + counts.delayed === 0;
}

describe("queue jobs: progress and cancel (chunked-job)", () => {
  it(`reports ${CHUNKS}/${CHUNKS} in spool jobs show and ends SUCCEEDED`, async () => {
    const jobKey = uniqueId("full");
    const jobId = jobIdFor(CHUNKED_JOB_KIND, jobKey);
    await sendJob(jobKey);

    const job = await waitFor(
      async () => {
        const found = await show(jobId);
        return found?.status === "SUCCEEDED" ? found : undefined;
      },
      { what: `${jobId} to succeed`, timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(job.progress).toMatchObject({
      done: CHUNKS,
      total: CHUNKS,
      note: `chunk ${CHUNKS} of ${CHUNKS}`,
    });
    expect(job.transitions.map((t) => t.status)).toEqual(["RUNNING", "SUCCEEDED"]);
    expect(job).toMatchObject({ kind: CHUNKED_JOB_KIND, businessKey: jobKey, attempts: 1 });
    const { out } = await spool("jobs", "show", jobId);
    expect(out).toMatch(
      new RegExp(`progress: +${CHUNKS}/${CHUNKS} \\(chunk ${CHUNKS} of ${CHUNKS}\\) at `),
    );
    expect(await effects(jobKey)).toEqual({
      chunks: Array.from({ length: CHUNKS }, (_, i) => i),
      stopped: undefined,
    });
  }, 180_000);

  it("spool jobs cancel midway ends it CANCELED within one chunk; the remaining chunks do no work", async () => {
    const jobKey = uniqueId("cancel");
    const jobId = jobIdFor(CHUNKED_JOB_KIND, jobKey);
    await sendJob(jobKey);
    await waitFor(
      async () => {
        const found = await show(jobId);
        return found?.status === "RUNNING" && (found.progress?.done ?? 0) >= 3;
      },
      { what: `${jobId} to get 3 chunks in`, timeoutMs: 120_000, intervalMs: 250 },
    );

    const cancel = await spool("jobs", "cancel", jobId, "--reason", "int test", "--json");
    expect(cancel.code, cancel.err).toBe(0);
    expect(cancel.json).toMatchObject({ jobId, before: "RUNNING", after: "CANCELED" });
    // Chunks done when the cancel landed; the one in flight may still finish, no more.
    const atCancel = (await effects(jobKey)).chunks.length;

    const stopped = await waitFor(async () => (await effects(jobKey)).stopped, {
      what: `${jobId}'s step to stop`,
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(stopped.beforeChunk).toBeGreaterThanOrEqual(atCancel);
    expect(stopped.beforeChunk).toBeLessThanOrEqual(atCancel + 1);
    expect(stopped.beforeChunk).toBeLessThan(CHUNKS);

    // The record was acknowledged (not retried, not dead-lettered), and nothing ran after.
    await waitFor(() => drained("ChunkedJobsQueueUrl"), {
      what: "the chunked-job queue to drain",
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
    expect(await drained("ChunkedJobsDeadLetterQueueUrl")).toBe(true);
    const after = await effects(jobKey);
    expect(after.chunks).toEqual(Array.from({ length: stopped.beforeChunk }, (_, i) => i));
    const job = await show(jobId);
    expect(job?.status).toBe("CANCELED");
    expect(job?.progress?.done).toBeLessThanOrEqual(stopped.beforeChunk);
    expect(job?.transitions.map((t) => t.status)).toEqual(["RUNNING", "CANCELED"]);
    expect(job?.transitions.at(-1)).toMatchObject({ by: "operator", note: "int test" });

    // Audited like the other CLI writes.
    const audit = new DynamoJobCancelAudit(ddb, output("OperatorAuditTableName"));
    expect((await audit.history(50)).find((e) => e.jobId === jobId)).toMatchObject({
      before: "RUNNING",
      status: "completed",
      after: "CANCELED",
    });

    // A refused second cancel says why; a message of the canceled job is dropped on arrival.
    const again = await spool("jobs", "cancel", jobId);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/is CANCELED since .*: a finished job cannot be canceled/);
    await sendJob(jobKey);
    await waitFor(
      async () =>
        (await functionLogLines(output("ChunkedJobsFunctionName"), "message dropped")).some(
          (l) => l.jobId === jobId,
        ),
      { what: "the dropped message's log line", timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect((await effects(jobKey)).chunks).toEqual(after.chunks);
    expect((await show(jobId))?.status).toBe("CANCELED");
  }, 240_000);
});
