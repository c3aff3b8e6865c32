/**
 * The rate limit on the emulator: 300 messages sent at once (issue 12's scenario) to the rate-limited consumer
 * (lib/example/parts/rate-limited.ts: 5 a second, burst 5, up to 5 concurrent invocations of 10
 * records). Each run of the business step records when it started; the starts must keep to the
 * bucket in every one-second window (allowing for the lag between a token and the start it
 * records), every message must run exactly once on its first delivery (a deferral is a new
 * message, so it burns no receive), and nothing may reach the DLQ.
 */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { rateLimitedKey } from "../../../../lambdas/rate-limited/rate-limited.js";
import { RATE_LIMITED } from "../../../../lib/example/parts/rate-limited.js";
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

const MESSAGES = 300;
/** How much later than its token a step may record its start (see the bucket check below). */
const START_LAG_S = 0.5;

interface Start {
  readonly sk: string;
  readonly startedAt: number;
  readonly executions: number;
  readonly attempts: Set<number>;
}

async function startsOf(runId: string): Promise<Start[]> {
  const items: Start[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: output("EffectsTableName"),
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": rateLimitedKey(runId, "").pk },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...((page.Items ?? []) as Start[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** The most starts in any window [t, t + 1 s). */
function busiestSecond(starts: readonly number[]): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] ?? Number.POSITIVE_INFINITY) < (sorted[i] ?? 0) + 1000) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe("queue consumer with a rate limit (rate-limited)", () => {
  it(`paces ${MESSAGES} messages sent at once to perSecond + burst in any second, deferring without loss`, async () => {
    const runId = uniqueId("rl");
    const queueUrl = output("RateLimitedQueueUrl");
    for (let batch = 0; batch < MESSAGES / 10; batch++) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 10 }, (_, i) => {
            const id = `m-${batch * 10 + i}`;
            const { MessageBody, MessageAttributes } = spoolMessage({
              queueUrl,
              body: { schemaVersion: 1, runId, id },
              correlationId: `${runId}-${id}`,
            });
            return { Id: id, MessageBody, MessageAttributes };
          }),
        }),
      );
    }

    const starts = await waitFor(
      async () => {
        const found = await startsOf(runId);
        return found.length >= MESSAGES ? found : undefined;
      },
      { what: `all ${MESSAGES} messages to run`, timeoutMs: 240_000, intervalMs: 2_000 },
    );

    // Every message ran, once, on its first delivery: no deferral spent a receive.
    expect(starts.map((s) => s.sk).sort()).toEqual(
      Array.from({ length: MESSAGES }, (_, i) => `m-${i}`).sort(),
    );
    expect(starts.filter((s) => s.executions !== 1)).toEqual([]);
    expect(starts.filter((s) => [...s.attempts].some((a) => a !== 1))).toEqual([]);

    // The bucket held. It paces tokens: at most burst + perSecond × T in any window of T. A step
    // records its start a little after its token (a loaded machine wakes the wait late), so a
    // one-second window of starts holds the tokens of a window up to START_LAG_S longer. Without
    // the limit, the messages would start within a few seconds, 40 or more in the busiest one.
    const times = starts.map((s) => s.startedAt);
    expect(busiestSecond(times)).toBeLessThanOrEqual(
      Math.floor(RATE_LIMITED.burst + RATE_LIMITED.perSecond * (1 + START_LAG_S)),
    );
    // ...and it did pace them: 300 starts at 5 a second after a burst of 5 take at least 58 s.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(
      ((MESSAGES - RATE_LIMITED.burst) / RATE_LIMITED.perSecond - 1) * 1000,
    );

    // The queue drains and nothing was dead-lettered.
    await waitFor(
      async () => {
        const counts = await queueCounts(queueUrl);
        return counts.visible + counts.inFlight + counts.delayed === 0;
      },
      { what: "the rate-limited queue to empty", timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const dlq = await queueCounts(output("RateLimitedDeadLetterQueueUrl"));
    expect(dlq.visible + dlq.inFlight + dlq.delayed).toBe(0);

    // Some records were over the limit and deferred (re-sent with a delay), not failed.
    const deferred = await waitFor(
      async () => {
        const lines = await functionLogLines(
          output("RateLimitedFunctionName"),
          "over the rate limit: deferred",
        );
        return lines.length > 0 ? lines : undefined;
      },
      { what: "deferral log lines", timeoutMs: 30_000, intervalMs: 1_000 },
    );
    expect(deferred[0]).toMatchObject({ bucket: "*" });
    expect(Number(deferred[0]?.delaySeconds)).toBeGreaterThanOrEqual(1);
  }, 400_000);
});
