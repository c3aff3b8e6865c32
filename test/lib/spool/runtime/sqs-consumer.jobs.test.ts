import { describe, expect, it } from "vitest";
import type { RecordContext } from "../../../../lib/spool/runtime/consumer-types.js";
import { PermanentError } from "../../../../lib/spool/runtime/errors.js";
import { FakeQueueJobs } from "../../../helpers/fake-queue-jobs.js";
import {
  body,
  deadLetters,
  failedIds,
  harness,
  invoke,
  type Message,
  metadataOf,
  record,
  useConsumerHarness,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

/** Job tracking for plain queue work (job-tracking.ts), against the real transition table. */

const JOB = "test-kind:a";
const CHUNKS = 10;

/** A step of CHUNKS chunks that checks for a cancel before each and reports after each. */
function chunkedStep(done: number[]) {
  return async (_m: Message, ctx: RecordContext) => {
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      if (await ctx.cancelled()) return { handled: `stopped before ${chunk}` };
      done.push(chunk);
      await ctx.reportProgress(chunk + 1, CHUNKS, `chunk ${chunk + 1}`);
    }
    return { handled: "all" };
  };
}

describe("a consumer that tracks its messages as jobs", () => {
  it("moves the job NEW → RUNNING → SUCCEEDED and keeps the step's last progress", async () => {
    const jobs = new FakeQueueJobs();
    const done: number[] = [];
    const h = harness({ jobs, process: chunkedStep(done) });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(response)).toEqual([]);
    expect(done).toHaveLength(CHUNKS);
    expect(jobs.history.get(JOB)).toEqual(["RUNNING", "SUCCEEDED"]);
    expect(jobs.progress.get(JOB)).toEqual({ done: 10, total: 10, note: "chunk 10" });
  });

  it("drops a message whose job is CANCELED on arrival: acknowledged, step not run, no dead letter", async () => {
    const jobs = new FakeQueueJobs();
    jobs.move(JOB, "PENDING");
    jobs.move(JOB, "CANCELED");
    const h = harness({ jobs });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(response)).toEqual([]);
    expect(h.process).not.toHaveBeenCalled();
    expect(deadLetters()).toEqual([]);
    expect(h.metricNames()).toContain("CanceledDropped");
    expect(jobs.status(JOB)).toBe("CANCELED");
  });

  it("stops a job canceled midway at the next check: the rest does no work, acknowledged, CANCELED", async () => {
    const jobs = new FakeQueueJobs();
    const done: number[] = [];
    // The operator cancels while chunk 3 runs: the check before chunk 4 sees it.
    jobs.onCheck = () => {
      if (done.length === 4) jobs.move(JOB, "CANCELED");
    };
    const h = harness({ jobs, process: chunkedStep(done) });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(response)).toEqual([]);
    expect(done).toEqual([0, 1, 2, 3]);
    expect(jobs.status(JOB)).toBe("CANCELED");
    expect(jobs.progress.get(JOB)?.done).toBe(4);
    expect(deadLetters()).toEqual([]);
    expect(h.metricNames()).toContain("CanceledStopped");
    expect(h.metricNames()).not.toContain("Processed");
    // Its idempotency key was let go, and a redelivery is dropped as canceled, not run.
    await invoke(h, record({ messageId: "m-2", body: body("a") }));
    expect(done).toEqual([0, 1, 2, 3]);
    expect(h.metricNames()).toContain("CanceledDropped");
  });

  it("counts a step that throws because its job was canceled as the cancel, not a failure", async () => {
    const jobs = new FakeQueueJobs();
    const h = harness({
      jobs,
      process: async () => {
        jobs.move(JOB, "CANCELED");
        throw new Error("stopped: canceled");
      },
    });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
    expect(failedIds(response)).toEqual([]);
    expect(deadLetters()).toEqual([]);
    expect(jobs.status(JOB)).toBe("CANCELED");
  });

  it("marks a transient failure RETRYING (record retried) and a permanent one DEAD_LETTERED", async () => {
    const jobs = new FakeQueueJobs();
    const flaky = harness({
      jobs,
      process: async () => {
        throw new Error("dependency down");
      },
    });
    const response = await invoke(flaky, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(jobs.history.get(JOB)).toEqual(["RUNNING", "RETRYING"]);
    expect(jobs.errors.get(JOB)).toBe("UNCLASSIFIED");

    const refused = harness({
      jobs,
      process: async () => {
        throw new PermanentError("card declined", { code: "SCHEMA_INVALID" });
      },
    });
    await invoke(refused, record({ messageId: "m-2", body: body("a"), attempt: 2 }));
    expect(metadataOf(deadLetters()[0]).reason).toBe("permanent-failure");
    expect(jobs.history.get(JOB)).toEqual(["RUNNING", "RETRYING", "RUNNING", "DEAD_LETTERED"]);
  });

  it("never moves a finished job backwards: a duplicate delivery is acknowledged without running", async () => {
    const jobs = new FakeQueueJobs();
    // No idempotency table: only the job says the work is done.
    const h = harness({ jobs, store: null });
    await invoke(h, record({ messageId: "m-1", body: body("a") }));
    const response = await invoke(h, record({ messageId: "m-2", body: body("a") }));
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(jobs.history.get(JOB)).toEqual(["RUNNING", "SUCCEEDED"]);
    expect(h.metricNames()).toContain("DuplicatesSuppressed");
  });

  it("reopens a dead-lettered job that is replayed: PENDING, then RUNNING", async () => {
    const jobs = new FakeQueueJobs();
    jobs.move(JOB, "PENDING");
    jobs.move(JOB, "DEAD_LETTERED");
    const h = harness({ jobs });
    await invoke(h, record({ messageId: "m-1", body: body("a") }));
    expect(jobs.history.get(JOB)).toEqual([
      "PENDING",
      "DEAD_LETTERED",
      "PENDING",
      "RUNNING",
      "SUCCEEDED",
    ]);
  });

  it("gives a step without job tracking a progress report that does nothing and no cancel", async () => {
    const done: number[] = [];
    const h = harness({ process: chunkedStep(done) });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(response)).toEqual([]);
    expect(done).toHaveLength(CHUNKS);
  });
});
