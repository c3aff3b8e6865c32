import { describe, expect, it } from "vitest";
import { TransientError } from "../../../../lib/spool/runtime/errors.js";
import { FAULT_ATTRIBUTE, FaultInjector, NO_FAULTS } from "../../../../lib/spool/runtime/faults.js";
import { beforeDeadline, recordDeadlineMs } from "../../../../lib/spool/runtime/record-deadline.js";
import { lambdaContext, sqsEvent, stringAttribute } from "../../../helpers/sqs.js";
import {
  body,
  failedIds,
  fifoRecord,
  harness,
  record,
  useConsumerHarness,
  visibilityChanges,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

describe("recordDeadlineMs", () => {
  it("keeps a margin of a tenth of the remaining time, between 200 ms and 2 s", () => {
    expect(recordDeadlineMs(1_000)).toBe(800);
    expect(recordDeadlineMs(10_000)).toBe(9_000);
    expect(recordDeadlineMs(60_000)).toBe(58_000);
    expect(recordDeadlineMs(100)).toBe(0);
  });
});

describe("beforeDeadline", () => {
  it("answers with the work's result when it finishes in time", async () => {
    await expect(beforeDeadline(Promise.resolve("done"), Date.now() + 60_000)).resolves.toBe(
      "done",
    );
  });

  it("fails transiently with RECORD_DEADLINE when the deadline comes first", async () => {
    const never = new Promise<never>(() => undefined);
    const outcome = beforeDeadline(never, Date.now());
    await expect(outcome).rejects.toBeInstanceOf(TransientError);
    await expect(outcome).rejects.toMatchObject({ code: "RECORD_DEADLINE" });
  });

  it("asks for the retry no sooner than the lease, so a run that goes on can finish first", async () => {
    const never = new Promise<never>(() => undefined);
    await expect(beforeDeadline(never, Date.now(), 30)).rejects.toMatchObject({
      code: "RECORD_DEADLINE",
      details: { retryAfterSeconds: 30 },
    });
  });
});

/** Through the consumer: what the deadline is for. */
describe("the invocation deadline", () => {
  it("gives up a record still running near the timeout, so its batch-mates are acknowledged", async () => {
    const h = harness({
      process: (message) =>
        message.id === "stuck"
          ? new Promise(() => undefined)
          : Promise.resolve({ handled: message.id }),
    });
    const started = Date.now();
    const response = await h.handler(
      sqsEvent(
        record({ messageId: "m-stuck", body: body("stuck") }),
        record({ messageId: "m-ok", body: body("ok") }),
      ),
      lambdaContext(1_000),
    );
    // Answered before the 1 s timeout, with only the stuck record to retry.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(failedIds(response)).toEqual(["m-stuck"]);
    expect(visibilityChanges().map((c) => c.receiptHandle)).toEqual(["receipt-m-stuck"]);
  });

  it("never starts the step of a record given up while something before it ran late", async () => {
    let release = () => {};
    const slowStart = new Promise<void>((resolve) => {
      release = resolve;
    });
    // An injected slow start (the chaos check's "timeout" fault) that outlasts the deadline.
    const faults = new FaultInjector({ rates: NO_FAULTS, sleep: () => slowStart });
    const h = harness({ faults });
    const response = await h.handler(
      sqsEvent(
        record({
          messageId: "m-late",
          body: body("late"),
          messageAttributes: { [FAULT_ATTRIBUTE]: stringAttribute("timeout:1") },
        }),
      ),
      lambdaContext(1_000),
    );
    expect(failedIds(response)).toEqual(["m-late"]);
    // The batch has answered; now the slow start ends, as a thawed environment's timer would.
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(h.process).not.toHaveBeenCalled();
  });

  it("does not start a FIFO record once the deadline has passed", async () => {
    const h = harness({
      process: (message) =>
        message.id === "A1"
          ? new Promise(() => undefined)
          : Promise.resolve({ handled: message.id }),
    });
    const response = await h.handler(
      sqsEvent(fifoRecord("A1", "A"), fifoRecord("B1", "B")),
      lambdaContext(1_000),
    );
    expect(failedIds(response)).toEqual(["A1", "B1"]);
    // B1 waited behind A1 until the deadline, and was then not started at all.
    expect(h.process.mock.calls.map((call) => call[0].id)).toEqual(["A1"]);
  });
});
