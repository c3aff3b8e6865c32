import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-scheduler";
import { GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it, vi } from "vitest";
import { spool } from "../../../helpers/cli.js";
import {
  expectRefusedBeforeAws,
  NIGHTLY,
  stubSpoolStack,
  TASKS,
} from "../../../helpers/cli-stack.js";

const { cfn, db, scheduler } = stubSpoolStack();

describe("spool schedules: argument parsing", () => {
  it.each([[["schedules", "cancel"], /missing required argument 'task-key'/]])(
    "refuses %j in one line, before calling AWS",
    (argv, message) => expectRefusedBeforeAws(argv, message, cfn),
  );
});

describe("spool schedules", () => {
  it("list: delayed-task schedules with key, due time, target and record; jobs with next and last run", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-11-28T10:00:00Z") });
    scheduler.on(ListSchedulesCommand).resolves({
      Schedules: [{ Name: "cart-reminder-o-1" }, { Name: "gone-meanwhile" }],
    });
    scheduler
      .on(GetScheduleCommand, { Name: "cart-reminder-o-1", GroupName: "tasks-group" })
      .resolves({
        Name: "cart-reminder-o-1",
        ScheduleExpression: "at(2026-11-29T10:00:00)",
        ScheduleExpressionTimezone: "UTC",
        State: "ENABLED",
        Target: {
          Arn: TASKS.targets[0],
          RoleArn: TASKS.schedulerRoleArn,
          Input: JSON.stringify({
            taskKey: "cart-reminder#o-1",
            dueAt: "2026-11-29T10:00:00.000Z",
            correlationId: "corr-1",
          }),
        },
      })
      .on(GetScheduleCommand, { Name: "gone-meanwhile" })
      .rejects(new ResourceNotFoundException({ Message: "gone", message: "gone", $metadata: {} }))
      .on(GetScheduleCommand, { Name: "nightly-reconciliation", GroupName: "jobs-group" })
      .resolves({
        ScheduleExpression: "cron(0 2 * * ? *)",
        ScheduleExpressionTimezone: "Europe/Berlin",
        State: "ENABLED",
        Target: { Arn: NIGHTLY.queueArn, RoleArn: "r" },
      })
      .on(GetScheduleCommand, { Name: "overlap-probe" })
      .resolves({ ScheduleExpression: "rate(1 hour)", State: "DISABLED" });
    db.on(GetCommand, { TableName: "tasks-table" }).resolves({
      Item: { key: "cart-reminder#o-1", status: "SCHEDULED" },
    });
    db.on(QueryCommand, { TableName: "runs-table" }).callsFake((input) =>
      input.ExpressionAttributeValues[":pk"] === "job#nightly-reconciliation"
        ? {
            Items: [
              {
                pk: "job#nightly-reconciliation",
                sk: "run#2026-11-28T01:00:00.000Z",
                scheduledTime: "2026-11-28T01:00:00.000Z",
                status: "SUCCEEDED",
              },
            ],
          }
        : { Items: [] },
    );

    const { code, out, err, json } = await spool("schedules", "list", "--json");
    expect(code, err).toBe(0);
    expect(json.delayedTasks).toEqual({
      scheduleGroup: "tasks-group",
      truncated: false,
      schedules: [
        {
          scheduleName: "cart-reminder-o-1",
          taskKey: "cart-reminder#o-1",
          dueAt: "2026-11-29T10:00:00.000Z",
          expression: "at(2026-11-29T10:00:00)",
          state: "ENABLED",
          target: TASKS.targets[0],
          correlationId: "corr-1",
          taskStatus: "SCHEDULED",
        },
      ],
    });
    expect(json.recurringJobs).toEqual([
      expect.objectContaining({
        job: "nightly-reconciliation",
        timeZone: "Europe/Berlin",
        nextRun: "2026-11-29T01:00:00.000Z",
        lastRun: { scheduledTime: "2026-11-28T01:00:00.000Z", status: "SUCCEEDED" },
      }),
      expect.objectContaining({ job: "overlap-probe", nextRun: null, noNextRun: "disabled" }),
    ]);
    expect(out).toBe(`${JSON.stringify(json, null, 2)}\n`);

    const text = (await spool("schedules", "list")).out;
    expect(text).toContain("Delayed tasks: 1 one-time schedule(s) in group tasks-group");
    expect(text).toMatch(
      /cart-reminder#o-1\s+2026-11-29T10:00:00.000Z\s+in 24.0 h\s+cart-reminders\s+ENABLED\s+SCHEDULED/,
    );
    expect(text).toMatch(
      /nightly-reconciliation\s+cron\(0 2 \* \* \? \*\)\s+Europe\/Berlin\s+ENABLED\s+2026-11-29T01:00:00.000Z\s+in 15.0 h\s+2026-11-28T01:00:00.000Z SUCCEEDED/,
    );
    expect(text).toMatch(/overlap-probe\s+rate\(1 hour\)\s+UTC\s+DISABLED\s+- \(disabled\)/);
  });

  it("cancel: marks the task cancelled, then deletes its schedule", async () => {
    db.on(UpdateCommand).resolves({
      Attributes: {
        key: "cart-reminder#o-1",
        status: "CANCELLED",
        route: "scheduler",
        scheduleName: "cart-reminder-o-1",
        dueAt: "2026-11-29T10:00:00.000Z",
      },
    });
    scheduler.on(DeleteScheduleCommand).resolves({});
    const { code, out, err } = await spool("schedules", "cancel", "cart-reminder#o-1");
    expect(code, err).toBe(0);
    expect(out).toBe(
      "Task cart-reminder#o-1 (due 2026-11-29T10:00:00.000Z): cancelled: its schedule cart-reminder-o-1 is deleted; nothing will be delivered.\n",
    );
    expect(db.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      TableName: "tasks-table",
      ConditionExpression: "#status IN (:scheduled)",
    });
    expect(scheduler.commandCalls(DeleteScheduleCommand)[0]?.args[0].input).toEqual({
      Name: "cart-reminder-o-1",
      GroupName: "tasks-group",
    });
  });

  const refused = (item: Record<string, unknown> | undefined) =>
    new ConditionalCheckFailedException({
      message: "The conditional request failed",
      $metadata: {},
      ...(item ? { Item: marshall(item) } : {}),
    });

  it.each([
    [
      "already cancelled: repeats the delete and succeeds",
      { key: "k", status: "CANCELLED", route: "scheduler", scheduleName: "k", cancelledAt: "t0" },
      0,
      /^Task k \(due \?\): already-cancelled: it was cancelled already at t0; nothing to do\.\n$/,
    ],
    [
      "delivered: refuses in one line",
      { key: "k", status: "DELIVERED", deliveredAt: "t1" },
      1,
      /^spool: task k cannot be cancelled: it was delivered at t1\n$/,
    ],
    [
      "being delivered: refuses in one line",
      { key: "k", status: "DELIVERING" },
      1,
      /^spool: task k cannot be cancelled: a consumer has claimed it/,
    ],
  ])("cancel, %s", async (_case, item, exit, message) => {
    db.on(UpdateCommand).rejects(refused(item));
    scheduler
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ Message: "gone", message: "gone", $metadata: {} }));
    const { code, out, err } = await spool("schedules", "cancel", "k");
    expect(code).toBe(exit);
    expect(exit ? err : out).toMatch(message);
  });

  it("cancel: an unknown key, and a recurring job's name, are told apart", async () => {
    db.on(UpdateCommand).rejects(refused(undefined));
    db.on(GetCommand).resolves({});
    expect((await spool("schedules", "cancel", "nope")).err).toBe(
      "spool: no task nope in tasks-table (never scheduled, or its record expired); spool schedules list shows the scheduled ones\n",
    );
    const job = await spool("schedules", "cancel", "nightly-reconciliation");
    expect(job.code).toBe(1);
    expect(job.err).toMatch(
      /^spool: nightly-reconciliation is a recurring job, not a delayed task/,
    );
  });
});
