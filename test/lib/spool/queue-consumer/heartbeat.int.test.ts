/**
 * The visibility heartbeat on the emulator: the long-work consumer (lib/example/parts/long-work.ts)
 * runs a record for 40 s on a queue that hides a received message for 15 s. With the heartbeat
 * the record runs once, on its first delivery, and leaves the queue. Without it the message
 * becomes visible again at 15 s and a second invocation runs it while the first is still working
 * (the event source runs up to 5 invocations at once); the second case shows that, so the first
 * one can fail.
 */
import {
  GetFunctionConfigurationCommand,
  UpdateFunctionConfigurationCommand,
} from "@aws-sdk/client-lambda";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { longWorkKey } from "../../../../lambdas/long-work/long-work.js";
import { CONSUMER_ENV } from "../../../../lib/spool/runtime/consumer-config.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import {
  getItem,
  lambda,
  output,
  queueCounts,
  sqs,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";

const WORK_SECONDS = 40;

async function sendLongRecord(): Promise<() => Promise<Record<string, unknown> | undefined>> {
  const id = uniqueId("long");
  await sqs.send(
    new SendMessageCommand(
      spoolMessage({
        queueUrl: output("LongWorkQueueUrl"),
        body: { schemaVersion: 1, id, workSeconds: WORK_SECONDS },
        correlationId: uniqueId("corr"),
      }),
    ),
  );
  return () => getItem(output("EffectsTableName"), longWorkKey(id));
}

const attemptsOf = (effect: Record<string, unknown> | undefined) =>
  [...((effect?.attempts as Set<number> | undefined) ?? [])].sort();

// One after the other: the second case changes the consumer's configuration for a while.
describe("queue consumer with a heartbeat (long-work)", () => {
  it("runs a record longer than its queue's visibility timeout exactly once", async () => {
    const effect = await sendLongRecord();
    const done = await waitFor(async () => ((await effect())?.finished ? effect() : undefined), {
      what: "the long record to finish",
      timeoutMs: (WORK_SECONDS + 60) * 1000,
      intervalMs: 1_000,
    });
    // A second run would have started while this one worked (at 15 s, 30 s, ...), so it would
    // already show in `executions`, and its later delivery in `attempts`.
    expect(done.executions).toBe(1);
    expect(done.finished).toBe(1);
    expect(attemptsOf(done)).toEqual([1]);
    // Acknowledged: the message leaves the queue instead of coming back after its last extension.
    const queueUrl = output("LongWorkQueueUrl");
    await waitFor(
      async () => {
        const counts = await queueCounts(queueUrl);
        return counts.visible + counts.inFlight + counts.delayed === 0;
      },
      { what: "the long-work queue to empty", timeoutMs: 30_000, intervalMs: 1_000 },
    );
    expect((await effect())?.executions).toBe(1);
  }, 150_000);

  it("without the heartbeat, runs the same record again while it is still running", async () => {
    const FunctionName = output("LongWorkFunctionName");
    const { Environment } = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName }),
    );
    const original = Environment?.Variables ?? {};
    expect(original[CONSUMER_ENV.heartbeatEverySeconds]).toBe("5");
    const {
      [CONSUMER_ENV.heartbeatEverySeconds]: _every,
      [CONSUMER_ENV.heartbeatExtendBySeconds]: _extendBy,
      ...withoutHeartbeat
    } = original;
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName,
        Environment: { Variables: withoutHeartbeat },
      }),
    );
    try {
      const effect = await sendLongRecord();
      // The first run is still working when the message reappears at 15 s and runs again.
      const twice = await waitFor(
        async () => (Number((await effect())?.executions) >= 2 ? effect() : undefined),
        { what: "a second execution", timeoutMs: WORK_SECONDS * 1000, intervalMs: 1_000 },
      );
      expect(twice.finished).toBeUndefined();
      expect(attemptsOf(twice)).toEqual(expect.arrayContaining([1, 2]));
    } finally {
      await lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName,
          Environment: { Variables: original },
        }),
      );
    }
  }, 150_000);
});
