import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  SchedulerClient,
  UpdateScheduleCommand,
} from "@aws-sdk/client-scheduler";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { localClientConfig } from "../../../../../tools/scripts/lib/local-cloud.js";
import { schedule } from "../../../../../tools/scripts/reconcile/checkers/schedule.js";
import { compareAndFix } from "../../../../../tools/scripts/reconcile/compare.js";
import { checkFor } from "../../../../helpers/reconcile.js";

const scheduler = mockClient(SchedulerClient);
const checksOf = schedule.connect(localClientConfig({ AWS_ENDPOINT_URL: "http://127.0.0.1:4571" }));

afterEach(() => scheduler.reset());

/** What MiniStack keeps of a schedule: no time zone, no dates. */
const stored: GetScheduleCommandOutput = {
  Name: "nightly",
  GroupName: "jobs",
  ScheduleExpression: "cron(0 2 * * ? *)",
  FlexibleTimeWindow: { Mode: "OFF" },
  State: "ENABLED",
  Description: "nightly run",
  Target: { Arn: "arn:aws:sqs:us-east-1:000000000000:jobs", RoleArn: "arn:role", Input: "{}" },
  $metadata: {},
};

describe("schedule checker", () => {
  it("reads a schedule without a declared Name by its physical id, and checks AWS's defaults", async () => {
    scheduler.on(GetScheduleCommand).resolves(stored);
    const checks = checksOf("nightly", {
      GroupName: "jobs",
      ScheduleExpression: stored.ScheduleExpression,
    });
    expect(checks.map((c) => [c.property, c.declared])).toEqual([
      ["ScheduleExpression", "cron(0 2 * * ? *)"],
      ["ScheduleExpressionTimezone", "UTC"],
      ["ActionAfterCompletion", "NONE"],
      ["State", "ENABLED"],
    ]);
    await checks[0]?.observe();
    expect(scheduler.commandCalls(GetScheduleCommand)[0]?.args[0].input).toEqual({
      Name: "nightly",
      GroupName: "jobs",
    });
  });

  it("restores a dropped time zone over the whole stored schedule, and says it is still UTC-evaluated", async () => {
    scheduler
      .on(GetScheduleCommand)
      .resolvesOnce(stored)
      .resolvesOnce(stored)
      .resolves({ ...stored, ScheduleExpressionTimezone: "Europe/Berlin" });
    scheduler.on(UpdateScheduleCommand).resolves({});
    const check = checkFor(
      checksOf("nightly", {
        Name: "nightly",
        GroupName: "jobs",
        ScheduleExpressionTimezone: "Europe/Berlin",
      }),
      "ScheduleExpressionTimezone",
    );
    expect(await compareAndFix(check)).toMatchObject({
      action: "fixed",
      note: "stored; MiniStack still evaluates cron() and at() in UTC",
    });
    // UpdateSchedule replaces the schedule: everything stored goes back with the fix.
    expect(scheduler.commandCalls(UpdateScheduleCommand)[0]?.args[0].input).toEqual({
      Name: "nightly",
      GroupName: "jobs",
      Description: "nightly run",
      ScheduleExpression: stored.ScheduleExpression,
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "OFF" },
      State: "ENABLED",
      Target: stored.Target,
    });
  });

  it("compares dates as instants, whatever their notation", async () => {
    scheduler
      .on(GetScheduleCommand)
      .resolves({ ...stored, StartDate: new Date("2030-01-01T00:00:00Z") });
    const check = checkFor(
      checksOf("nightly", { StartDate: "2030-01-01T01:00:00+01:00" }),
      "StartDate",
    );
    expect(check.declared).toBe("2030-01-01T00:00:00.000Z");
    expect(await compareAndFix(check, { dryRun: true })).toBeUndefined();
  });
});
