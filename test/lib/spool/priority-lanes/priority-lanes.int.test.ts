/**
 * Priority lanes on the emulator (lib/example/parts/priority-lanes.ts: a high lane with 3
 * concurrent invocations, a low one with 2, batches of 1, each step working STEP_MS). A backlog of
 * LOW messages is queued on the low lane, then HIGH on the high lane. All the high ones must
 * finish before a tenth of the low backlog has drained (counted from when the high ones were
 * sent: the low lane starts draining as soon as its backlog arrives), and the low lane must keep
 * going meanwhile and after. Without lanes the high messages would queue behind the whole backlog.
 *
 * Not the whole backlog is drained (at 2 × STEP_MS it would take minutes): the low queue is purged
 * at the end, so the next run and other tests see an idle part.
 */
import { PurgeQueueCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { lanedKey } from "../../../../lambdas/priority-lanes/priority-lanes.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import { ddb, output, sqs, uniqueId, waitFor } from "../../../helpers/cloud.js";

const LOW = 500;
const HIGH = 20;
/** The bound the issue sets: the high ones are done before 10 % of the low backlog drained. */
const LOW_DRAINED_BOUND = LOW / 10;
const STEP_MS = 300;

interface Finished {
  readonly sk: string;
  readonly lane: string;
  readonly finishedAt: number;
  readonly executions: number;
}

async function finishedOf(runId: string): Promise<Finished[]> {
  const items: Finished[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: output("EffectsTableName"),
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": lanedKey(runId, "").pk },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...((page.Items ?? []) as Finished[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

async function send(queueUrl: string, runId: string, lane: string, ids: readonly string[]) {
  for (let start = 0; start < ids.length; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ids.slice(start, start + 10).map((id) => {
          const { MessageBody, MessageAttributes } = spoolMessage({
            queueUrl,
            body: { schemaVersion: 1, runId, id, lane, workMs: STEP_MS },
            correlationId: `${runId}-${id}`,
          });
          return { Id: id, MessageBody, MessageAttributes };
        }),
      }),
    );
  }
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe("priority lanes (test-lanes)", () => {
  afterAll(async () => {
    // The rest of the low backlog is not needed: drop it rather than keep the emulator busy.
    await sqs.send(new PurgeQueueCommand({ QueueUrl: output("LanesLowQueueUrl") }));
  });

  it(`finishes ${HIGH} high messages before ${LOW_DRAINED_BOUND} of ${LOW} queued low ones drain, and low keeps progressing`, async () => {
    const runId = uniqueId("lanes");
    const high = output("LanesHighQueueUrl");
    const low = output("LanesLowQueueUrl");
    const done = async (lane: string) => (await finishedOf(runId)).filter((f) => f.lane === lane);

    // Warm the high lane first: what is measured is the lanes' scheduling, not a cold start.
    await send(high, runId, "high", ids("warm", 3));
    await waitFor(async () => ((await done("high")).length >= 3 ? true : undefined), {
      what: "the high lane's warm-up",
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });

    await send(low, runId, "low", ids("low", LOW));
    // The low lane is draining before the high messages arrive.
    const lowBefore = await waitFor(
      async () => {
        const found = await done("low");
        return found.length >= 3 ? found.length : undefined;
      },
      { what: "the low lane to start draining", timeoutMs: 120_000, intervalMs: 500 },
    );

    const highSentAt = Date.now();
    await send(high, runId, "high", ids("high", HIGH));
    const highDone = await waitFor(
      async () => {
        const found = (await done("high")).filter((f) => f.sk.startsWith("high-"));
        return found.length >= HIGH ? found : undefined;
      },
      { what: `all ${HIGH} high messages to finish`, timeoutMs: 120_000, intervalMs: 500 },
    );
    const lastHigh = Math.max(...highDone.map((f) => f.finishedAt));
    const lowDone = await done("low");
    const lowByLastHigh = lowDone.filter((f) => f.finishedAt <= lastHigh).length;

    // Fewer than a tenth of the backlog drained while the high ones were served.
    expect(lowByLastHigh - lowBefore).toBeLessThan(LOW_DRAINED_BOUND);
    expect(highDone.filter((f) => f.executions !== 1)).toEqual([]);
    // The low lane was not stopped for them (its own share kept running)...
    expect(lowDone.filter((f) => f.finishedAt > highSentAt).length).toBeGreaterThan(0);
    // ...and keeps going after them.
    await waitFor(
      async () => ((await done("low")).length >= lowByLastHigh + 5 ? true : undefined),
      { what: "the low lane to keep draining", timeoutMs: 60_000, intervalMs: 1_000 },
    );
  }, 420_000);
});
