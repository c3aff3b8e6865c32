/**
 * The circuit breaker on the emulator: the breaker-guarded consumer (lib/example/parts/
 * breaker-guarded.ts) calls a dependency through `dependencyBreaker` (open after 5 failures,
 * 3 s cool-down, one probe). With the dependency failing every call, the breaker must open after
 * the threshold, let at most one probe per opening reach the dependency while open, and send
 * nothing to the DLQ (records that find it open are deferred without spending a delivery); once
 * the dependency is back, every message's effect must appear exactly once.
 */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import {
  dependencyKey,
  GUARDED_BREAKER,
  GUARDED_CONSUMER,
  GUARDED_DEPENDENCY,
  guardedKey,
} from "../../../../lambdas/breaker-guarded/contract.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import {
  ddb,
  functionLogLines,
  getItem,
  output,
  queueCounts,
  sqs,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";

const MESSAGES = 30;

interface Breaker {
  readonly bstate?: string;
  readonly gen?: number;
}

const breaker = async () =>
  ((await getItem(output("IdempotencyTableName"), {
    id: `${GUARDED_CONSUMER}#breaker#${GUARDED_DEPENDENCY}`,
  })) ?? {}) as Breaker;

const calls = async (runId: string) =>
  Number((await getItem(output("EffectsTableName"), dependencyKey(runId)))?.calls ?? 0);

async function effectsOf(runId: string) {
  const page = await ddb.send(
    new QueryCommand({
      TableName: output("EffectsTableName"),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": guardedKey(runId, "").pk },
      ConsistentRead: true,
    }),
  );
  return (page.Items ?? []).filter((item) => item.sk !== dependencyKey(runId).sk) as {
    sk: string;
    executions: number;
    attempts: Set<number>;
  }[];
}

async function deadLettered(): Promise<number> {
  const dlq = await queueCounts(output("BreakerGuardedDeadLetterQueueUrl"));
  return dlq.visible + dlq.inFlight + dlq.delayed;
}

/** Waits until the breaker has opened (again) since opening number `after`; returns its number. */
const openedAfter = (after: number, what: string) =>
  waitFor(
    async () => {
      const b = await breaker();
      return b.bstate === "open" && (b.gen ?? 0) > after ? (b.gen ?? 0) : undefined;
    },
    { what, timeoutMs: 60_000, intervalMs: 200 },
  );

describe("queue consumer with a circuit breaker (breaker-guarded)", () => {
  it(`keeps calls off a dependency failing 100 % and drains ${MESSAGES} messages once when it is back`, async () => {
    const runId = uniqueId("cb");
    const queueUrl = output("BreakerGuardedQueueUrl");
    const startGen = (await breaker()).gen ?? 0;
    await ddb.send(
      new PutCommand({
        TableName: output("EffectsTableName"),
        Item: { ...dependencyKey(runId), failing: true, calls: 0 },
      }),
    );
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

    // It opens, and only after the threshold of failed calls.
    const opened = await openedAfter(startGen, "the breaker to open");
    expect(await calls(runId)).toBeGreaterThanOrEqual(GUARDED_BREAKER.failureThreshold);

    // From the first re-opening on (a probe failed, a cool-down after the opening, so no call
    // admitted while it was closed is still on its way), each opening lets one probe through:
    // the calls counted between two readings are at most one per opening seen in between.
    const from = await openedAfter(opened, "a probe to fail and open it again");
    const callsBefore = await calls(runId);
    await openedAfter(from + 1, "two more failed probes");
    const callsAfter = await calls(runId);
    const to = (await breaker()).gen ?? 0;
    expect(callsAfter - callsBefore).toBeLessThanOrEqual(
      (to - from + 1) * GUARDED_BREAKER.halfOpenProbes,
    );
    expect(callsAfter - callsBefore).toBeGreaterThan(0); // the probes did reach it
    // Records that found it open were deferred, and none was dead-lettered while it was down.
    const deferred = await waitFor(
      async () => {
        const lines = await functionLogLines(
          output("BreakerGuardedFunctionName"),
          "dependency unavailable (circuit open): deferred",
        );
        return lines.length > 0 ? lines : undefined;
      },
      { what: "deferral log lines", timeoutMs: 30_000, intervalMs: 1_000 },
    );
    expect(Number(deferred[0]?.delaySeconds)).toBeGreaterThanOrEqual(1);
    expect(await deadLettered()).toBe(0);
    expect(await effectsOf(runId)).toEqual([]);

    // The dependency comes back: a probe closes the breaker and everything drains, once.
    await ddb.send(
      new UpdateCommand({
        TableName: output("EffectsTableName"),
        Key: dependencyKey(runId),
        UpdateExpression: "SET failing = :no",
        ExpressionAttributeValues: { ":no": false },
      }),
    );
    // Generous: on CI's loaded 2 cores the drain has taken over two minutes. What was still
    // missing, and where the messages were, is in the failure so a slow drain reads apart from
    // a lost one.
    const effects = await waitFor(
      async () => {
        const found = await effectsOf(runId);
        return found.length >= MESSAGES ? found : undefined;
      },
      { what: `all ${MESSAGES} effects`, timeoutMs: 240_000, intervalMs: 1_000 },
    ).catch(async (error: Error) => {
      const found = new Set((await effectsOf(runId)).map((e) => e.sk));
      const missing = Array.from({ length: MESSAGES }, (_, i) => `m-${i}`).filter(
        (id) => !found.has(id),
      );
      const state = {
        missing,
        breaker: await breaker(),
        queue: await queueCounts(queueUrl),
        deadLettered: await deadLettered(),
      };
      throw new Error(`${error.message}; ${JSON.stringify(state)}`);
    });
    expect(effects.map((e) => e.sk).sort()).toEqual(
      Array.from({ length: MESSAGES }, (_, i) => `m-${i}`).sort(),
    );
    expect(effects.filter((e) => e.executions !== 1)).toEqual([]);
    // No delivery was spent waiting for the breaker: a message fails at most once while it is
    // closed (before it opens; after it closes the dependency is back), and every later refusal
    // sent a copy that starts again at receive count 1. Retried in place instead, messages would
    // have spent one delivery per cool-down.
    expect(effects.filter((e) => [...e.attempts].some((a) => a > 2))).toEqual([]);
    expect((await breaker()).bstate).toBe("closed");
    await waitFor(
      async () => {
        const counts = await queueCounts(queueUrl);
        return counts.visible + counts.inFlight + counts.delayed === 0;
      },
      { what: "the queue to empty", timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(await deadLettered()).toBe(0);
  }, 420_000);
});
