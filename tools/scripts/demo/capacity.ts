import { randomUUID } from "node:crypto";
import { GetQueueAttributesCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { rateLimitedKey } from "../../../lambdas/rate-limited/rate-limited.js";
import { RATE_LIMITED } from "../../../lib/example/parts/rate-limited.js";
import { spoolMessage } from "../../../lib/spool/runtime/producer.js";
import { bold, ok, say, seconds, step, waitWithProgress } from "../lib/narrate.js";
import type { DemoContext } from "./queues.js";
import { spool } from "./spool-cli.js";

const run = randomUUID().slice(0, 6);
/** The rate-limited consumer as `spool consumers list` names it (after its queue). */
const CONSUMER = "rate-limited/queue";

/** Sends `count` messages to the rate-limited consumer's queue in batches of ten, at once. */
async function sendBurst(ctx: DemoContext, runId: string, count: number): Promise<void> {
  const queueUrl = ctx.output("RateLimitedQueueUrl");
  for (let first = 0; first < count; first += 10) {
    await ctx.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: Math.min(10, count - first) }, (_, i) => {
          const id = `m-${first + i}`;
          const { MessageBody, MessageAttributes } = spoolMessage({
            queueUrl,
            body: { schemaVersion: 1, runId, id },
            correlationId: `demo-${runId}-${id}`,
          });
          return { Id: id, MessageBody, MessageAttributes };
        }),
      }),
    );
  }
}

interface Start {
  readonly startedAt: number;
  readonly executions: number;
}

/** What the consumer recorded for a run: one item per message that started its step. */
async function startsOf(ctx: DemoContext, runId: string): Promise<Start[]> {
  const starts: Start[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await ctx.clients.ddb.send(
      new QueryCommand({
        TableName: ctx.output("EffectsTableName"),
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": rateLimitedKey(runId, "").pk },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    starts.push(...((page.Items ?? []) as Start[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return starts;
}

/** The most starts in any one-second window. */
function busiestSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] ?? Number.POSITIVE_INFINITY) < (sorted[i] ?? 0) + 1000) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

async function waiting(ctx: DemoContext): Promise<number> {
  const { Attributes } = await ctx.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: ctx.output("RateLimitedQueueUrl"),
      AttributeNames: ["ApproximateNumberOfMessages"],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

/**
 * A burst against a consumer held to a rate (a provider's quota): 30 messages sent at once start
 * at the bucket's pace, across all of the consumer's concurrent invocations, and the ones over
 * the limit go back as delayed copies instead of failing.
 */
export async function rateLimitHeld(ctx: DemoContext): Promise<void> {
  const { perSecond, burst } = RATE_LIMITED;
  step(`Capacity: a burst against a consumer held to ${perSecond} a second (burst ${burst})`);
  const runId = `demo-rl-${run}`;
  const count = 30;
  await sendBurst(ctx, runId, count);
  say(`sent ${count} messages at once to the rate-limited consumer's queue`);
  const { value: starts } = await waitWithProgress(
    `all ${count} to start`,
    async () => {
      const found = await startsOf(ctx, runId);
      return found.length >= count ? found : undefined;
    },
    90_000,
  );
  const times = starts.map((s) => s.startedAt);
  const spread = Math.max(...times) - Math.min(...times);
  const once = starts.every((s) => s.executions === 1);
  ok(
    `${count} started over ${seconds(spread)}, at most ${busiestSecond(times)} in any one second; ${once ? "each ran once" : "some ran more than once"}, none dead-lettered: those over the limit were sent back with a delay, burning no delivery`,
  );
  ctx.ledger.push({ message: `${count} × rate-limited burst`, outcome: "paced, each run once" });
}

/**
 * An operator pauses a consumer (its provider is down, say): messages wait on the queue and
 * nothing runs; resumed, they all run once.
 */
export async function consumerPausedAndResumed(ctx: DemoContext): Promise<void> {
  step("Capacity: pause a consumer, let messages wait, resume it");
  await spool("consumers", "pause", CONSUMER);
  const runId = `demo-pause-${run}`;
  const count = 5;
  await sendBurst(ctx, runId, count);
  say("");
  say(`sent ${count} messages while it is paused`);
  await waitWithProgress(`the ${count} messages to wait on the queue`, async () => {
    return (await waiting(ctx)) >= count;
  });
  await spool("status");
  const ranWhilePaused = (await startsOf(ctx, runId)).length;
  ok(`${ranWhilePaused} of ${count} ran while paused: they wait, and their age grows`);
  say("");
  await spool("consumers", "resume", CONSUMER);
  const { elapsedMs } = await waitWithProgress(
    `the ${count} to run after the resume`,
    async () => (await startsOf(ctx, runId)).length >= count,
    90_000,
  );
  ok(
    `all ${count} ran ${seconds(elapsedMs)} after the resume; ${bold("spool consumers history")} keeps who paused and resumed it`,
  );
  ctx.ledger.push({ message: `${count} sent while paused`, outcome: "waited, then run once" });
}
