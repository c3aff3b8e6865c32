import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from "@aws-sdk/client-cloudformation";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from "@aws-sdk/client-scheduler";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from "@aws-sdk/client-sfn";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TasksConfig } from "../../../../lib/spool/delayed-tasks/runtime/tasks.js";
import type { JobRecord } from "../../../../lib/spool/job-table/runtime/jobs.js";
import type { JobDefinition } from "../../../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { nextRunOf } from "../../../../tools/cli/lib/schedules.js";
import { spool } from "../../../helpers/cli.js";

const TASKS: TasksConfig = {
  table: "tasks-table",
  scheduleGroup: "tasks-group",
  schedulerRoleArn: "arn:aws:iam::000000000000:role/scheduler",
  deadLetterQueueArn: "arn:aws:sqs:us-east-1:000000000000:tasks-dlq",
  targets: ["arn:aws:sqs:us-east-1:000000000000:cart-reminders"],
  retryPolicy: { maximumEventAgeSeconds: 86_400, maximumRetryAttempts: 185 },
  retentionSeconds: 30 * 86_400,
};

const NIGHTLY: JobDefinition = {
  name: "nightly-reconciliation",
  schedule: "cron(0 2 * * ? *)",
  timeZone: "Europe/Berlin",
  maxLatenessSeconds: 6 * 3_600,
  overlap: "skip-if-running",
  maxRunSeconds: 600,
  runsTable: "runs-table",
  queueArn: "arn:aws:sqs:us-east-1:000000000000:jobs",
  scheduleName: "nightly-reconciliation",
  scheduleGroup: "jobs-group",
  retentionSeconds: 90 * 86_400,
};
const PROBE: JobDefinition = {
  ...NIGHTLY,
  name: "overlap-probe",
  schedule: "rate(1 hour)",
  timeZone: "UTC",
  scheduleName: "overlap-probe",
};

let cfn: AwsClientStub<CloudFormationClient>;
let db: AwsClientStub<DynamoDBDocumentClient>;
let sfn: AwsClientStub<SFNClient>;
let scheduler: AwsClientStub<SchedulerClient>;
let sqs: AwsClientStub<SQSClient>;

beforeEach(() => {
  cfn = mockClient(CloudFormationClient);
  db = mockClient(DynamoDBDocumentClient);
  sfn = mockClient(SFNClient);
  scheduler = mockClient(SchedulerClient);
  sqs = mockClient(SQSClient);
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: "Spool",
        CreationTime: new Date(),
        StackStatus: "CREATE_COMPLETE",
        Outputs: [
          { OutputKey: "JobsTableName", OutputValue: "jobs-table" },
          { OutputKey: "DelayedTasksConfig", OutputValue: JSON.stringify(TASKS) },
          {
            OutputKey: "RecurringJobs",
            OutputValue: JSON.stringify({ [NIGHTLY.name]: NIGHTLY, [PROBE.name]: PROBE }),
          },
        ],
      },
    ],
  });
  cfn.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
  cfn.on(GetTemplateCommand).resolves({ TemplateBody: JSON.stringify({ Resources: {} }) });
});

afterEach(() => {
  for (const stub of [cfn, db, sfn, scheduler, sqs]) stub.restore();
  vi.useRealTimers();
});

describe("spool jobs, schedules, backfill: argument parsing", () => {
  it("lists the new commands in --help", async () => {
    const { code, out } = await spool("--help");
    expect(code).toBe(0);
    for (const usage of [
      "spool jobs show <id>",
      "spool jobs list",
      "spool schedules list",
      "spool schedules cancel <task-key>",
      "spool backfill <job>",
      "spool runs <job>",
    ]) {
      expect(out).toContain(usage);
    }
  });

  it.each([
    [["jobs", "show"], /^spool: missing required argument 'id' \(see spool --help\)\n$/],
    [
      ["jobs", "list", "--status", "DONE"],
      /--status must be one of PENDING, RUNNING, .*got "DONE"/,
    ],
    [["jobs", "list", "--scan-limit", "0"], /--scan-limit must be an integer from 1 to 1000000/],
    [["schedules", "cancel"], /missing required argument 'task-key'/],
    [["backfill", "nightly"], /required option '--from <time>' not specified/],
    [
      ["backfill", "nightly", "--from", "2026-01-01", "--to", "2026-01-02T00:00:00Z"],
      /--from must be an ISO 8601 time with a zone, like 2026-11-20T00:00:00Z, got "2026-01-01"/,
    ],
    [
      ["backfill", "nightly", "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"],
      /^spool: --from must be before --to, got 2026-01-02T00:00:00.000Z \.\. 2026-01-01T00:00:00.000Z\n$/,
    ],
    [
      ["backfill", "nightly", "--from", "2020-01-01T00:00:00Z", "--to", "2999-01-01T00:00:00Z"],
      /^spool: a backfill covers past runs only: --to must not be in the future/,
    ],
    [
      [
        "backfill",
        "nightly",
        "--from",
        "2020-01-01T00:00:00Z",
        "--to",
        "2020-01-02T00:00:00Z",
        "--max-lateness",
        "soon",
      ],
      /--max-lateness must be a duration like 30s, 15m, 2h or 7d, got "soon"/,
    ],
    [["runs", "nightly", "--limit", "x"], /--limit must be an integer from 1 to 10000/],
  ])("refuses %j in one line, before calling AWS", async (argv, message) => {
    const { code, err, out } = await spool(...argv);
    expect(code).not.toBe(0);
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(out).toBe("");
    expect(cfn.calls()).toHaveLength(0);
  });
});

const JOB: JobRecord = {
  jobId: "order-fulfilment:o-42",
  kind: "order-fulfilment",
  businessKey: "o-42",
  status: "COMPENSATED",
  createdAt: "2026-11-28T10:00:00.000Z",
  updatedAt: "2026-11-28T10:00:01.500Z",
  startedAt: "2026-11-28T10:00:00.200Z",
  finishedAt: "2026-11-28T10:00:01.500Z",
  attempts: 1,
  lastError: {
    error: "PAYMENT_DECLINED",
    cause: "charges above 1000.00 EUR are declined",
    step: "chargePayment",
    kind: "rejected",
    at: "2026-11-28T10:00:00.900Z",
  },
  correlationId: "corr-42",
  messageId: "m-42",
  executionArn: "arn:aws:states:us-east-1:000000000000:execution:Fulfilment:o-42",
  transitions: [
    { status: "PENDING", at: "2026-11-28T10:00:00.000Z", by: "starter" },
    { status: "RUNNING", at: "2026-11-28T10:00:00.200Z", by: "workflow" },
    { status: "COMPENSATING", at: "2026-11-28T10:00:00.900Z", by: "workflow" },
    { status: "COMPENSATED", at: "2026-11-28T10:00:01.500Z", by: "workflow" },
  ],
};

function history(): HistoryEvent[] {
  const at = (ms: number) => new Date(Date.parse("2026-11-28T10:00:00.000Z") + ms);
  let id = 0;
  const task = (name: string, from: number, to: number, output?: string, failures = 0) => [
    {
      id: ++id,
      type: "TaskStateEntered",
      timestamp: at(from),
      stateEnteredEventDetails: { name },
    },
    ...Array.from({ length: failures }, () => ({
      id: ++id,
      type: "TaskFailed",
      timestamp: at(from + 10),
      taskFailedEventDetails: { error: "Runtime.HandlerError", cause: "provider timed out" },
    })),
    ...(output
      ? [
          {
            id: ++id,
            type: "TaskSucceeded",
            timestamp: at(to),
            taskSucceededEventDetails: { output },
          },
        ]
      : []),
    { id: ++id, type: "TaskStateExited", timestamp: at(to), stateExitedEventDetails: { name } },
  ];
  return [
    ...task("Record RUNNING", 200, 250),
    ...task("reserveInventory", 300, 400, JSON.stringify({ outcome: "ok" })),
    ...task(
      "chargePayment",
      400,
      900,
      JSON.stringify({ outcome: "rejected", code: "PAYMENT_DECLINED", reason: "declined" }),
      1,
    ),
    ...task("Undo reserveInventory", 1_000, 1_400, JSON.stringify({ outcome: "ok" })),
  ] as HistoryEvent[];
}

describe("spool jobs", () => {
  it("show: status, timestamps, attempts, last error, correlation id, timeline and steps", async () => {
    db.on(GetCommand, { TableName: "jobs-table", Key: { jobId: JOB.jobId } }).resolves({
      Item: JOB,
    });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: JOB.executionArn,
      stateMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:Fulfilment",
      name: "o-42",
      status: "FAILED",
      startDate: new Date("2026-11-28T10:00:00.100Z"),
      stopDate: new Date("2026-11-28T10:00:01.600Z"),
      error: "COMPENSATED",
      cause: '{"step":"chargePayment"}',
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history() });

    const { code, out, err } = await spool("jobs", "show", "o-42", "--kind", "order-fulfilment");
    expect(code, err).toBe(0);
    for (const line of [
      "Job order-fulfilment:o-42: COMPENSATED",
      "kind:           order-fulfilment",
      "started:        2026-11-28T10:00:00.200Z",
      "finished:       2026-11-28T10:00:01.500Z (1 s after it started)",
      "attempts:       1",
      "last error:     PAYMENT_DECLINED at chargePayment (rejected): charges above 1000.00 EUR are declined",
      "correlation id: corr-42",
      `execution:      ${JOB.executionArn} (FAILED: COMPENSATED)`,
      "Steps of execution o-42 (FAILED):",
      'ended 2026-11-28T10:00:01.600Z: FAILED COMPENSATED ({"step":"chargePayment"})',
    ]) {
      expect(out).toContain(line);
    }
    expect(out).toMatch(/\+ms\s+by\s+event/);
    expect(out).toMatch(/2026-11-28T10:00:00.900Z\s+900\s+job\s+COMPENSATING/);
    expect(out).toMatch(
      /chargePayment\s+2026-11-28T10:00:00.400Z\s+500 ms\s+rejected PAYMENT_DECLINED\s+1\s+Runtime.HandlerError: provider timed out/,
    );
    expect(out).toMatch(/Undo reserveInventory\s+\S+\s+400 ms\s+ok/);

    const json = (await spool("jobs", "show", "order-fulfilment:o-42", "--json")).json;
    expect(json.job).toEqual(JOB);
    expect(json.execution).toMatchObject({ status: "FAILED", error: "COMPENSATED" });
    expect(json.timeline.at(-1)).toMatchObject({ event: "execution FAILED" });
  });

  it("show: a missing job is one line naming the table and how job ids look", async () => {
    db.on(GetCommand).resolves({});
    const { code, err, out } = await spool("jobs", "show", "o-404");
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toBe(
      "spool: no job o-404 in jobs-table: a job id is <kind>:<business key> (e.g. order-fulfilment:o-404), or pass --kind <kind> with the business key\n",
    );
    expect((await spool("jobs", "show", "x", "--table", "elsewhere")).err).toMatch(
      /^spool: no job x in elsewhere/,
    );
  });

  it("list: reads a bounded number of items, filters by status, says when it stopped early", async () => {
    const job = (n: number, status = "FAILED") => ({
      ...JOB,
      jobId: `order-fulfilment:o-${n}`,
      status,
      updatedAt: `2026-11-28T10:0${n}:00.000Z`,
    });
    db.on(ScanCommand)
      .resolvesOnce({ Items: [job(1)], ScannedCount: 200, LastEvaluatedKey: { jobId: "a" } })
      .resolvesOnce({ Items: [job(3)], ScannedCount: 200, LastEvaluatedKey: { jobId: "b" } })
      .resolves({ Items: [job(2)], ScannedCount: 100, LastEvaluatedKey: { jobId: "c" } });
    const { code, out, err } = await spool(
      "jobs",
      "list",
      "--status",
      "failed",
      "--status",
      "dead_lettered",
      "--scan-limit",
      "500",
    );
    expect(code, err).toBe(0);
    const scans = db.commandCalls(ScanCommand).map((c) => c.args[0].input);
    expect(scans.map((s) => s.Limit)).toEqual([200, 200, 100]);
    expect(scans[0]).toMatchObject({
      TableName: "jobs-table",
      FilterExpression: "#status IN (:s0, :s1)",
      ExpressionAttributeValues: { ":s0": "FAILED", ":s1": "DEAD_LETTERED" },
    });
    expect(scans[0]?.ProjectionExpression).not.toContain("transitions");
    expect(scans[1]?.ExclusiveStartKey).toEqual({ jobId: "a" });
    // Newest first among those read.
    expect(out.indexOf("o-3")).toBeLessThan(out.indexOf("o-2"));
    expect(out.indexOf("o-2")).toBeLessThan(out.indexOf("o-1"));
    expect(out).toContain(
      "read 500 items of jobs-table and stopped: more jobs may match (raise --scan-limit or --limit).",
    );
  });

  it("list: stops reading once --limit jobs match", async () => {
    db.on(ScanCommand).resolves({
      Items: [JOB, { ...JOB, jobId: "order-fulfilment:o-43" }],
      ScannedCount: 2,
      LastEvaluatedKey: { jobId: "x" },
    });
    const { json } = await spool("jobs", "list", "--limit", "2", "--json");
    expect(db.commandCalls(ScanCommand)).toHaveLength(1);
    expect(json).toMatchObject({ examined: 2, truncated: true });
    expect(json.jobs).toHaveLength(2);
  });
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

describe("spool backfill and runs", () => {
  it("backfills with a progress counter on stderr and the report on stdout", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-03-10T12:00:00Z") });
    // Each recorded run takes a second, so the counter (quiet for the first 2 s) shows up.
    db.on(PutCommand).callsFake(() => {
      vi.setSystemTime(Date.now() + 1_000);
      return {};
    });
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [] });
    const { code, out, err } = await spool(
      "backfill",
      "nightly-reconciliation",
      "--from",
      "2026-03-01T00:00:00Z",
      "--to",
      "2026-03-06T00:00:00Z",
      "--max-lateness",
      "30d",
    );
    expect(code, err).toBe(0);
    expect(err).toMatch(/^runs recorded [2-5]\/5 · 1\.0\/s/m);
    expect(out).toMatch(
      /^nightly-reconciliation: 5 run\(s\) from 2026-03-01T00:00:00.000Z to 2026-03-06T00:00:00.000Z; 5 enqueued/,
    );
    expect(out).toContain("2026-03-01T01:00:00.000Z  enqueued");
    expect(out).toContain(
      "Follow them: spool runs nightly-reconciliation --from 2026-03-01T00:00:00.000Z",
    );
    const sent = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(sent.map((e) => JSON.parse(e.MessageBody ?? "{}").maxLatenessSeconds)).toEqual(
      Array(5).fill(30 * 86_400),
    );
  });

  it("a dry run records and sends nothing", async () => {
    db.on(GetCommand).resolves({});
    const { code, out } = await spool(
      "backfill",
      "nightly-reconciliation",
      "--from",
      "2020-03-01T00:00:00Z",
      "--to",
      "2020-03-03T00:00:00Z",
      "--dry-run",
    );
    expect(code).toBe(0);
    expect(out).toMatch(/^Dry run: nightly-reconciliation has 2 run\(s\) .* 0 would be enqueued/);
    expect(out).toContain("2020-03-01T01:00:00.000Z  would record SKIPPED: too late");
    expect(db.commandCalls(PutCommand)).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });

  it("names the jobs it knows when asked for another", async () => {
    const { code, err } = await spool(
      "backfill",
      "weekly",
      "--from",
      "2020-03-01T00:00:00Z",
      "--to",
      "2020-03-03T00:00:00Z",
    );
    expect(code).toBe(1);
    expect(err).toBe(
      "spool: no recurring job weekly in stack Spool; its jobs: nightly-reconciliation, overlap-probe\n",
    );
  });

  it("runs: the job's run history, newest first", async () => {
    db.on(QueryCommand).resolves({
      Items: [
        {
          pk: "job#nightly-reconciliation",
          sk: "run#2026-03-02T01:00:00.000Z",
          scheduledTime: "2026-03-02T01:00:00.000Z",
          status: "SKIPPED",
          source: "schedule",
          skipReason: "overlap",
          blockedBy: "nightly-reconciliation@2026-03-01T01:00:00.000Z",
          deliveries: 1,
        },
        {
          pk: "job#nightly-reconciliation",
          sk: "run#2026-03-01T01:00:00.000Z",
          scheduledTime: "2026-03-01T01:00:00.000Z",
          status: "SUCCEEDED",
          source: "backfill",
          attempts: 1,
          deliveries: 2,
          duplicateDeliveries: 1,
        },
      ],
    });
    const { code, out } = await spool("runs", "nightly-reconciliation", "--limit", "5");
    expect(code).toBe(0);
    expect(db.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: "runs-table",
      ScanIndexForward: false,
      Limit: 5,
    });
    expect(out).toMatch(
      /2026-03-02T01:00:00.000Z\s+SKIPPED\s+schedule\s+0\s+1\s+overlap \(nightly-reconciliation@2026-03-01T01:00:00.000Z\)/,
    );
    expect(out).toMatch(
      /2026-03-01T01:00:00.000Z\s+SUCCEEDED\s+backfill\s+1\s+2\s+1 duplicate deliveries ignored/,
    );
  });
});
