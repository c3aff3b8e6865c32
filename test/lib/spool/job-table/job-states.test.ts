import { describe, expect, it } from "vitest";
import {
  canTransition,
  isTerminal,
  JOB_STATUSES,
  JOB_TRANSITIONS,
  type JobSource,
  jobIdFor,
  jobUpdate,
  NEW_JOB,
  sourcesOf,
  transitionCondition,
} from "../../../../lib/spool/job-table/job-states.js";

const SOURCES: JobSource[] = [NEW_JOB, ...JOB_STATUSES];

describe("job state transitions", () => {
  it("never moves a finished job again, except a dead letter that is replayed", () => {
    for (const status of ["SUCCEEDED", "FAILED", "COMPENSATED", "CANCELED"] as const) {
      expect(isTerminal(status)).toBe(true);
      for (const to of JOB_STATUSES) expect(canTransition(status, to)).toBe(false);
    }
    expect(canTransition("SUCCEEDED", "RUNNING")).toBe(false);
    expect(isTerminal("DEAD_LETTERED")).toBe(true);
    expect(JOB_STATUSES.filter((to) => canTransition("DEAD_LETTERED", to))).toEqual(["PENDING"]);
    expect(isTerminal("RUNNING")).toBe(false);
  });

  it("allows the lifecycles of queue jobs, workflows and operators", () => {
    const paths: JobSource[][] = [
      [NEW_JOB, "PENDING", "RUNNING", "SUCCEEDED"],
      [NEW_JOB, "PENDING", "RETRYING", "RETRYING", "RUNNING", "SUCCEEDED"],
      [NEW_JOB, "PENDING", "RUNNING", "COMPENSATING", "COMPENSATED"],
      [NEW_JOB, "PENDING", "RUNNING", "COMPENSATING", "FAILED"],
      [NEW_JOB, "PENDING", "RETRYING", "DEAD_LETTERED"],
      [NEW_JOB, "RUNNING", "DEAD_LETTERED", "PENDING", "RUNNING", "CANCELED"],
      [NEW_JOB, "DEAD_LETTERED", "PENDING", "RUNNING", "SUCCEEDED"],
      [NEW_JOB, "RUNNING", "RETRYING", "RUNNING", "FAILED"],
      [NEW_JOB, "PENDING", "CANCELED"],
      [NEW_JOB, "PENDING", "RUNNING", "CANCELED"],
    ];
    for (const path of paths) {
      for (let i = 1; i < path.length; i++) {
        expect(canTransition(path[i - 1] as JobSource, path[i] as never), path.join(" → ")).toBe(
          true,
        );
      }
    }
  });

  it("refuses moves that would lose or fake what happened", () => {
    expect(canTransition("PENDING", "SUCCEEDED")).toBe(false); // never ran
    expect(canTransition("PENDING", "COMPENSATED")).toBe(false);
    expect(canTransition("COMPENSATING", "SUCCEEDED")).toBe(false);
    expect(canTransition("COMPENSATING", "CANCELED")).toBe(false); // half undone: FAILED
    expect(canTransition("RUNNING", "PENDING")).toBe(false);
    expect(canTransition(NEW_JOB, "SUCCEEDED")).toBe(false);
    expect(canTransition("RUNNING", "RUNNING")).toBe(false); // a second start of one job
  });

  it("derives each condition from the table, for every status", () => {
    for (const to of JOB_STATUSES) {
      const sources = sourcesOf(to);
      expect([...sources].sort()).toEqual(
        SOURCES.filter((from) => JOB_TRANSITIONS[from].includes(to)).sort(),
      );
      if (!sources.length) {
        expect(() => transitionCondition(to)).toThrow(`no status may move to ${to}`);
        continue;
      }
      const condition = transitionCondition(to);
      expect(condition.expression.includes("attribute_not_exists(#jobId)")).toBe(
        sources.includes(NEW_JOB),
      );
      expect(Object.values(condition.values).sort()).toEqual(
        sources.filter((s) => s !== NEW_JOB).sort(),
      );
    }
    expect(transitionCondition("RUNNING")).toEqual({
      expression: "attribute_not_exists(#jobId) OR #status IN (:from0, :from1)",
      names: { "#status": "status", "#jobId": "jobId" },
      values: { ":from0": "PENDING", ":from1": "RETRYING" },
    });
    expect(transitionCondition("COMPENSATED").expression).toBe("#status IN (:from0)");
  });

  it("builds one update shape: timestamps by status, history appended, attempts counted", () => {
    const running = jobUpdate({ to: "RUNNING", set: ["executionArn"], countAttempt: true });
    expect(running.updateExpression).toContain("#startedAt = if_not_exists(#startedAt, :at)");
    expect(running.updateExpression).toContain(
      "#transitions = list_append(if_not_exists(#transitions, :empty), :entry)",
    );
    expect(running.updateExpression).toMatch(/ ADD #attempts :one$/);
    expect(running.updateExpression).not.toContain("finishedAt");
    expect(running.values[":to"]).toBe("RUNNING");

    const done = jobUpdate({ to: "COMPENSATED", setIfAbsent: ["correlationId"] });
    expect(done.updateExpression).toContain("#finishedAt = :at");
    expect(done.updateExpression).toContain(
      "#correlationId = if_not_exists(#correlationId, :correlationId)",
    );
    expect(done.updateExpression).not.toContain("ADD");
    // Every name placeholder is used (DynamoDB refuses unused ones).
    for (const update of [running, done]) {
      const text = `${update.updateExpression} ${update.conditionExpression}`;
      for (const name of Object.keys(update.names)) expect(text).toContain(name);
    }
  });

  it("names a job by kind and business key", () => {
    expect(jobIdFor("order-fulfilment", "o-42")).toBe("order-fulfilment:o-42");
  });
});

describe("a writer narrowing where a transition may come from", () => {
  it("keeps only the sources it names, so the starter never moves a RUNNING job to RETRYING", () => {
    const legal = transitionCondition("RETRYING");
    expect(Object.values(legal.values)).toContain("RUNNING");
    const narrowed = transitionCondition("RETRYING", ["PENDING", "RETRYING"]);
    expect(Object.values(narrowed.values).sort()).toEqual(["PENDING", "RETRYING"]);
  });

  it("cannot widen them: a source the table does not allow stays out", () => {
    const narrowed = transitionCondition("RUNNING", ["SUCCEEDED", "PENDING"]);
    expect(Object.values(narrowed.values)).not.toContain("SUCCEEDED");
  });
});
