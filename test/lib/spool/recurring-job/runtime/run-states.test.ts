import { describe, expect, it } from "vitest";
import {
  NO_RUN,
  RUN_TABLE,
  runItemKey,
  runKeyOf,
} from "../../../../../lib/spool/recurring-job/runtime/run-states.js";

describe("run keys", () => {
  it("are (job, scheduled time)", () => {
    const t = new Date("2026-03-02T01:00:00Z");
    expect(runKeyOf("nightly", t)).toBe("nightly@2026-03-02T01:00:00.000Z");
    expect(runItemKey("nightly", t)).toEqual({
      pk: "job#nightly",
      sk: "run#2026-03-02T01:00:00.000Z",
    });
  });
});

describe("the run transition table", () => {
  it("claims a new, queued or failed run, or one whose worker's lease ran out", () => {
    const claim = RUN_TABLE.update("claim", { values: { ":nowMs": 1_000 } });
    expect(claim.conditionExpression).toBe(
      "attribute_not_exists(pk) OR #status IN (:queued, :failed) OR (#status = :running AND leaseUntil < :nowMs)",
    );
    expect(claim.setStatus).toBe("#status = :running");
    expect(claim.values).toEqual({
      ":running": "RUNNING",
      ":queued": "QUEUED",
      ":failed": "FAILED",
      ":nowMs": 1_000,
    });
  });

  it("lets only the claim that started an attempt close it", () => {
    for (const name of ["succeed", "fail", "skipOverlap", "defer"] as const) {
      const close = RUN_TABLE.update(name, { values: { ":attempt": 2 } });
      expect(close.conditionExpression, name).toBe("#status = :running AND attempts = :attempt");
      expect(close.values[":attempt"], name).toBe(2);
    }
    expect(() => RUN_TABLE.update("succeed")).toThrow(/needs a value for :attempt/);
  });

  it("never runs a finished run again, and skips a late one only if nobody started it", () => {
    for (const status of ["SUCCEEDED", "SKIPPED"] as const) {
      for (const name of Object.keys(
        RUN_TABLE.transitions,
      ) as (keyof typeof RUN_TABLE.transitions)[])
        expect(RUN_TABLE.allows(name, status), `${name} from ${status}`).toBe(false);
    }
    expect(RUN_TABLE.sources("skipTooLate")).toEqual([NO_RUN, "QUEUED", "FAILED"]);
    expect(RUN_TABLE.update("skipTooLate").conditionExpression).toBe(
      "attribute_not_exists(pk) OR #status IN (:queued, :failed)",
    );
  });

  it("has a backfill create records only where none exists", () => {
    expect(RUN_TABLE.condition("enqueue")).toEqual({
      expression: "attribute_not_exists(pk)",
      names: {},
      values: {},
    });
    expect(RUN_TABLE.transitions.enqueue.to).toBe("QUEUED");
    expect(RUN_TABLE.transitions.enqueueTooLate.to).toBe("SKIPPED");
  });
});
