/**
 * Work longer than one invocation on the emulator: the continued-job consumer
 * (lib/example/parts/chunked-jobs.ts, 10 s timeout) runs a 12-item job of 1.5 s items (18 s),
 * at most four items per message (fewer when its time budget runs short), each message sending the next cursor to its own queue
 * (lib/spool/runtime/continuation.ts). One job record carries it from start to SUCCEEDED.
 */

import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import {
  CONTINUED_JOB_KIND,
  continuedJobKey,
  ITEMS_PER_CHUNK,
} from "../../../../lambdas/continued-job/continued-job.js";
import { jobIdFor } from "../../../../lib/spool/job-table/job-states.js";
import type { JobRecord } from "../../../../lib/spool/job-table/runtime/jobs.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
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

const ITEMS = 12;

async function show(jobId: string): Promise<JobRecord | undefined> {
  const { code, json } = await spool("jobs", "show", jobId, "--json");
  return code === 0 ? (json.job as JobRecord) : undefined;
}

/** The effect items: one per job item, with the cursor of the message that did it. */
async function items(jobKey: string) {
  const { Items = [] } = await ddb.send(
    new QueryCommand({
      TableName: output("EffectsTableName"),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": continuedJobKey(jobKey, 0).pk },
      ConsistentRead: true,
    }),
  );
  return Items as { sk: string; index: number; cursor: number; duplicates?: number }[];
}

async function sendJob(jobKey: string): Promise<void> {
  const queueUrl = output("ContinuedJobsQueueUrl");
  const { MessageBody, MessageAttributes } = spoolMessage({
    queueUrl,
    body: { schemaVersion: 1, jobKey, items: ITEMS, itemMillis: 1_500 },
    correlationId: `corr-${jobKey}`,
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody, MessageAttributes }));
}

describe("a job longer than one invocation (continued-job)", () => {
  it(`completes ${ITEMS} items through continuations: one job SUCCEEDED at ${ITEMS}/${ITEMS}, one effect per item`, async () => {
    const jobKey = uniqueId("continued");
    const jobId = jobIdFor(CONTINUED_JOB_KIND, jobKey);
    await sendJob(jobKey);

    const job = await waitFor(
      async () => {
        const found = await show(jobId);
        return found?.status === "SUCCEEDED" ? found : undefined;
      },
      { what: `${jobId} to succeed`, timeoutMs: 150_000, intervalMs: 1_000 },
    );
    expect(job.progress).toMatchObject({ done: ITEMS, total: ITEMS });
    // One job through all three messages: RUNNING once, SUCCEEDED once, after the last chunk.
    expect(job.transitions.map((t) => t.status)).toEqual(["RUNNING", "SUCCEEDED"]);
    expect(job).toMatchObject({ kind: CONTINUED_JOB_KIND, businessKey: jobKey });

    const done = await items(jobKey);
    expect(done.map((i) => i.index).sort((a, b) => a - b)).toEqual(
      Array.from({ length: ITEMS }, (_, i) => i),
    );
    // Each item's effect happened once: one row per index above, written by the first delivery
    // that did it. A chunk retried on a loaded machine (its invocation out of time after its send)
    // does its items again and finds them done: the row counts those as `duplicates`, which is
    // the idempotent effect doing its job, not a second effect, so it is not asserted away.
    // More than one invocation did the work: the items name the message (cursor) that did them.
    // Each message does at most ITEMS_PER_CHUNK items; it does fewer when its time budget runs
    // short (a loaded machine), so the cursors are a chain from 0, not fixed steps of four.
    const cursors = [...new Set(done.map((i) => i.cursor))].sort((a, b) => a - b);
    expect(cursors[0]).toBe(0);
    expect(cursors.length).toBeGreaterThanOrEqual(Math.ceil(ITEMS / ITEMS_PER_CHUNK));
    for (const [n, cursor] of cursors.entries()) {
      const until = cursors[n + 1] ?? ITEMS;
      expect(until - cursor, `items done by the message at cursor ${cursor}`).toBeGreaterThan(0);
      expect(until - cursor).toBeLessThanOrEqual(ITEMS_PER_CHUNK);
    }
    const continued = await functionLogLines(
      output("ContinuedJobsFunctionName"),
      "job continued in a new message",
    );
    // Every message that did items after the first was a continuation this job sent, and every
    // continuation pointed inside the job. (A retried chunk that its time check ended at another
    // item sends a second, overlapping cursor whose items may all be done already: so the sent
    // set may hold more cursors than the items name, never fewer.)
    const sent = continued
      .filter((l) => l.correlationId === `corr-${jobKey}`)
      .map((l) => l.next as number);
    expect(new Set(sent)).toEqual(new Set([...sent, ...cursors.slice(1)]));
    expect(sent.every((next) => next > 0 && next < ITEMS)).toBe(true);

    // Nothing left behind: no message waiting, none dead-lettered.
    const dead = await queueCounts(output("ContinuedJobsDeadLetterQueueUrl"));
    expect(dead.visible + dead.inFlight + dead.delayed).toBe(0);
  }, 200_000);

  it("spool jobs cancel in a later chunk stops the chain: no item after it, nothing dead-lettered", async () => {
    const jobKey = uniqueId("continued-cancel");
    const jobId = jobIdFor(CONTINUED_JOB_KIND, jobKey);
    await sendJob(jobKey);
    // Past the first message: the cancel must reach a continuation, through the same job.
    await waitFor(
      async () => {
        const found = await show(jobId);
        return found?.status === "RUNNING" && (found.progress?.done ?? 0) >= 5;
      },
      { what: `${jobId} to get into its second chunk`, timeoutMs: 120_000, intervalMs: 250 },
    );
    const cancel = await spool("jobs", "cancel", jobId, "--reason", "int test", "--json");
    expect(cancel.code, cancel.err).toBe(0);
    const atCancel = (await items(jobKey)).length;

    await waitFor(
      async () => {
        const counts = await queueCounts(output("ContinuedJobsQueueUrl"));
        return counts.visible + counts.inFlight + counts.delayed === 0;
      },
      { what: "the continued-job queue to drain", timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const done = await items(jobKey);
    // The item in flight when the cancel landed may finish; nothing after it starts.
    expect(done.length).toBeGreaterThanOrEqual(atCancel);
    expect(done.length).toBeLessThanOrEqual(atCancel + 1);
    expect(done.length).toBeLessThan(ITEMS);
    const job = await show(jobId);
    expect(job?.status).toBe("CANCELED");
    expect(job?.transitions.map((t) => t.status)).toEqual(["RUNNING", "CANCELED"]);
    const dead = await queueCounts(output("ContinuedJobsDeadLetterQueueUrl"));
    expect(dead.visible + dead.inFlight + dead.delayed).toBe(0);
  }, 200_000);
});
