import { describe, expect, it } from "vitest";
import * as recurringJobs from "../../../../../lib/spool/recurring-job/runtime/recurring-jobs.js";

describe("the recurring-jobs module", () => {
  it("keeps the exports the worker, the CLI, the demo and the bench import from it", () => {
    expect(Object.keys(recurringJobs).sort()).toEqual([
      "MAX_BACKFILL_RUNS",
      "NO_RUN",
      "RUN_TABLE",
      "RunMessage",
      "SCHEDULED_TIME_PLACEHOLDER",
      "backfillRuns",
      "deferDelaySeconds",
      "jobDefinitionsFromEnv",
      "listRuns",
      "lockItemKey",
      "resolveScheduledTime",
      "runItemKey",
      "runKeyOf",
      "runRecurringJob",
      "scheduleAnchor",
    ]);
  });
});
