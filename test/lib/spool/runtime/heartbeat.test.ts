import { ChangeMessageVisibilityBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startHeartbeat } from "../../../../lib/spool/runtime/heartbeat.js";
import { FIRST_RECEIVED_MS, type RecordOptions, sqsRecord } from "../../../helpers/sqs.js";

const sqsMock = mockClient(SQSClient);
const POLICY = { everySeconds: 10, extendBySeconds: 30 };
const OTHER_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:other";

function observer() {
  return { logger: { warn: vi.fn() }, metrics: { addMetric: vi.fn() } };
}

/** When each call was sent (fake clock, ms), in call order. */
let sentAt: number[] = [];

/** Each extension as [seconds since `startMs`, queue URL, receipt handle, timeout]. */
function extensions(startMs: number) {
  return sqsMock
    .commandCalls(ChangeMessageVisibilityBatchCommand)
    .flatMap((call, i) =>
      (call.args[0].input.Entries ?? []).map((entry) => [
        ((sentAt[i] ?? Number.NaN) - startMs) / 1000,
        call.args[0].input.QueueUrl,
        entry.ReceiptHandle,
        entry.VisibilityTimeout,
      ]),
    );
}

const record = (messageId: string, extra: Partial<RecordOptions> = {}) =>
  sqsRecord({ messageId, body: {}, ...extra });

describe("startHeartbeat", () => {
  const sqs = new SQSClient({ region: "us-east-1" });
  const startMs = FIRST_RECEIVED_MS + 2_000;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(startMs);
    sqsMock.reset();
    sentAt = [];
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake(async () => {
      sentAt.push(Date.now());
      return { Successful: [], Failed: [] };
    });
    vi.stubEnv("AWS_ENDPOINT_URL_SQS", undefined);
    vi.stubEnv("AWS_ENDPOINT_URL", undefined);
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  it("extends every held record by extendBy each `every`, per queue, until it is stopped", async () => {
    const heartbeat = startHeartbeat(
      sqs,
      [record("a"), record("b"), record("c", { eventSourceARN: OTHER_QUEUE_ARN })],
      POLICY,
      observer(),
    );
    await vi.advanceTimersByTimeAsync(9_999);
    expect(extensions(startMs)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    const q = "https://sqs.us-east-1.amazonaws.com/000000000000/q";
    const other = "https://sqs.us-east-1.amazonaws.com/000000000000/other";
    expect(extensions(startMs)).toEqual([
      [10, q, "receipt-a", 30],
      [10, q, "receipt-b", 30],
      [10, other, "receipt-c", 30],
    ]);
    await heartbeat.stop("a");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(extensions(startMs).slice(3)).toEqual([
      [20, q, "receipt-b", 30],
      [20, other, "receipt-c", 30],
    ]);
    await heartbeat.stopAll();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(extensions(startMs)).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stops its timer once the last record is stopped", async () => {
    const heartbeat = startHeartbeat(sqs, [record("a"), record("b")], POLICY, observer());
    await heartbeat.stop("a");
    expect(vi.getTimerCount()).toBe(1);
    await heartbeat.stop("b");
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(extensions(startMs)).toEqual([]);
  });

  it("does nothing without a policy", async () => {
    const heartbeat = startHeartbeat(sqs, [record("a")], undefined, observer());
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    await heartbeat.stopAll();
    expect(extensions(startMs)).toEqual([]);
  });

  it("sends at most 10 entries per call", async () => {
    const records = Array.from({ length: 23 }, (_, i) => record(`m${i}`));
    const heartbeat = startHeartbeat(sqs, records, POLICY, observer());
    await vi.advanceTimersByTimeAsync(10_000);
    const calls = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    const ids = calls.flatMap((c) => c.args[0].input.Entries?.map((e) => e.Id));
    expect(new Set(ids).size).toBe(23);
    await heartbeat.stopAll();
  });

  it("never extends past 12 hours from the first receive, then stops extending that record", async () => {
    // First received 12 h minus 25 s before the first beat: 15 s are left at that beat.
    const firstReceived = startMs + 10_000 - 43_200_000 + 15_000;
    const late = record("late", {
      attributes: { ApproximateFirstReceiveTimestamp: String(firstReceived) },
    });
    const heartbeat = startHeartbeat(sqs, [late, record("young")], POLICY, observer());
    await vi.advanceTimersByTimeAsync(30_000);
    const q = "https://sqs.us-east-1.amazonaws.com/000000000000/q";
    expect(extensions(startMs)).toEqual([
      [10, q, "receipt-late", 15],
      [10, q, "receipt-young", 30],
      [20, q, "receipt-young", 30],
      [30, q, "receipt-young", 30],
    ]);
    await heartbeat.stopAll();
  });

  it("logs and counts a failed extension, and tries again at the next beat", async () => {
    sqsMock
      .on(ChangeMessageVisibilityBatchCommand)
      .rejectsOnce(new Error("throttled"))
      .resolvesOnce({
        Successful: [{ Id: "h0" }],
        Failed: [{ Id: "h1", Code: "ReceiptHandleIsInvalid", SenderFault: true }],
      })
      .resolves({ Successful: [], Failed: [] });
    const observe = observer();
    const heartbeat = startHeartbeat(sqs, [record("a"), record("b")], POLICY, observe);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(3);
    expect(observe.metrics.addMetric.mock.calls).toEqual([
      ["HeartbeatFailed", "Count", 2],
      ["HeartbeatFailed", "Count", 1],
    ]);
    expect(observe.logger.warn).toHaveBeenCalledTimes(2);
    await heartbeat.stopAll();
  });

  it("skips a beat while the previous one is still waiting, and stop waits for it", async () => {
    let release: () => void = () => undefined;
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ Successful: [], Failed: [] });
        }),
    );
    const heartbeat = startHeartbeat(sqs, [record("a")], POLICY, observer());
    await vi.advanceTimersByTimeAsync(25_000);
    // The beat at 20 s found the one sent at 10 s still waiting.
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(1);
    let stopped = false;
    const stopping = heartbeat.stop("a").then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
  });
});
