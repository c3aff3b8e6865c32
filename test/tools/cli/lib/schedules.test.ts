import { describe, expect, it } from "vitest";
import { nextRunOf } from "../../../../tools/cli/lib/schedules.js";

describe("next run of a recurring schedule", () => {
  const now = new Date("2026-11-28T10:00:00Z");
  it("starts no earlier than the schedule's start and stops at its end", () => {
    const start = new Date("2026-12-01T00:00:00Z");
    expect(
      nextRunOf(
        { ScheduleExpression: "cron(0 2 * * ? *)", State: "ENABLED", StartDate: start },
        "UTC",
        now,
      ),
    ).toEqual({ nextRun: "2026-12-01T02:00:00.000Z" });
    expect(
      nextRunOf(
        {
          ScheduleExpression: "rate(1 hour)",
          State: "ENABLED",
          CreationDate: new Date("2026-11-28T09:30:00Z"),
          EndDate: new Date("2026-11-28T10:15:00Z"),
        },
        "UTC",
        now,
      ),
    ).toEqual({ nextRun: null, noNextRun: "ended 2026-11-28T10:15:00.000Z" });
  });
});
