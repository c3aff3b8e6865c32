import { describe, expect, it } from "vitest";
import {
  jobDefinitionsFromEnv,
  RunMessage,
} from "../../../../../lib/spool/recurring-job/runtime/run-message.js";
import { JOB, runMessage } from "../../../../helpers/recurring-runs.js";

describe("RunMessage", () => {
  it("accepts what the Scheduler and a backfill send, and refuses a job name no schedule has", () => {
    expect(
      RunMessage.safeParse(runMessage({ source: "backfill", maxLatenessSeconds: 60 })).success,
    ).toBe(true);
    const bad = RunMessage.safeParse(runMessage({ job: "nightly job" }));
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe("job: 1–64 letters, digits, _ . -");
    expect(RunMessage.safeParse(runMessage({ source: "cron" as never })).success).toBe(false);
  });
});

describe("jobDefinitionsFromEnv", () => {
  it("reads the definitions RecurringJob.bindWorker wrote, and names the variable when missing", () => {
    expect(
      jobDefinitionsFromEnv({ SPOOL_RECURRING_JOBS: JSON.stringify({ nightly: JOB }) }),
    ).toEqual({
      nightly: JOB,
    });
    expect(() => jobDefinitionsFromEnv({})).toThrow(/SPOOL_RECURRING_JOBS/);
    expect(() => jobDefinitionsFromEnv({ SPOOL_RECURRING_JOBS: "{" })).toThrow(
      /SPOOL_RECURRING_JOBS must be JSON \(it is written by RecurringJob.bindWorker\)/,
    );
  });
});
