/**
 * A record whose dependency's breaker is open (circuit-breaker.ts) in the record pipeline: on a
 * standard queue it is deferred as a delayed copy that burns no delivery, on a FIFO queue it is
 * retried in place after the cool-down.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { dependencyBreaker } from "../../../../lib/spool/runtime/circuit-breaker.js";
import { TransientError } from "../../../../lib/spool/runtime/errors.js";
import { fakeBreakerTable } from "../../../helpers/fake-breaker-table.js";
import {
  body,
  deadLetters,
  failedIds,
  harness,
  invoke,
  NOW,
  record,
  SOURCE_URL,
  sqsMock,
  useConsumerHarness,
  visibilityChanges,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

const open = () =>
  Promise.reject(
    new TransientError("dependency provider is unavailable (circuit open): not called", {
      code: "DEPENDENCY_OPEN",
      details: { dependency: "provider", retryAfterSeconds: 20 },
    }),
  );

describe("a record whose dependency's breaker is open", () => {
  it("is deferred on a standard queue, even on its last delivery: a copy after the cool-down, no dead letter", async () => {
    const h = harness({ process: open });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
    expect(failedIds(response)).toEqual([]);
    const sent = deadLetters();
    expect(sent).toEqual([
      {
        QueueUrl: SOURCE_URL,
        MessageBody: JSON.stringify(body("a")),
        MessageAttributes: {},
        // The cool-down left (20 s) plus jitter (0.5 in the harness) of as much again.
        DelaySeconds: 30,
      },
    ]);
    expect(visibilityChanges()).toEqual([]);
    // The in-progress idempotency record is gone, so the copy runs the step.
    expect(h.store?.table.size).toBe(0);
    expect(h.metricNames()).not.toContain("DeadLettered");
  });

  it("is retried in place on a FIFO queue, no sooner than the cool-down", async () => {
    const h = harness({ process: open });
    const response = await invoke(
      h,
      record({ messageId: "f-1", body: body("a"), fifo: true, attempt: 1 }),
    );
    expect(failedIds(response)).toEqual(["f-1"]);
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([20]);
    expect(deadLetters()).toEqual([]);
  });

  it("is retried after the cool-down when the copy cannot be sent", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("SQS unavailable"));
    const h = harness({ process: open });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 1 }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([20]);
  });
});

describe("a consumer whose step calls through a real breaker", () => {
  const dynamoMock = mockClient(DynamoDBClient);
  beforeEach(() => {
    dynamoMock.reset();
    fakeBreakerTable(dynamoMock);
  });

  it("retries the failures below the threshold, defers the rest without calling, dead-letters none", async () => {
    const calls = vi.fn(() => Promise.reject(new TransientError("503")));
    const breaker = dependencyBreaker(
      "provider",
      { failureThreshold: 5, window: 60, coolDown: 30 },
      {
        dynamo: new DynamoDBClient({}),
        metrics: { addMetric: () => undefined },
        logger: new Logger({ logLevel: "SILENT" }),
        now: () => NOW,
        config: { consumerName: "test-consumer", idempotencyTable: "idempotency" },
      },
    );
    const h = harness({ process: () => breaker.call(calls) });
    const ids = ["a", "b", "c", "d", "e", "f", "g"];
    const first = await invoke(
      h,
      ...ids.map((id) => record({ messageId: id, body: body(id), attempt: 5 })),
    );
    // All seven called while it was closed; the fifth failure opened it. The four before it are
    // ordinary transient failures on their last delivery; the opener and the two that found it
    // open once counted wait out the cool-down as copies.
    expect(calls).toHaveBeenCalledTimes(7);
    expect(failedIds(first)).toHaveLength(0);
    const sent = deadLetters();
    const copies = sent.filter((m) => m.QueueUrl === SOURCE_URL);
    expect(copies).toHaveLength(3);
    expect(copies.every((m) => m.DelaySeconds === 45)).toBe(true);
    expect(sent.filter((m) => m.QueueUrl !== SOURCE_URL)).toHaveLength(4); // retries-exhausted

    // While it is open, nothing is called and every record is deferred, on any delivery.
    sqsMock.resetHistory();
    const second = await invoke(
      h,
      ...["h", "i"].map((id) => record({ messageId: id, body: body(id), attempt: 5 })),
    );
    expect(calls).toHaveBeenCalledTimes(7);
    expect(failedIds(second)).toEqual([]);
    expect(deadLetters().map((m) => m.QueueUrl)).toEqual([SOURCE_URL, SOURCE_URL]);
  });
});
