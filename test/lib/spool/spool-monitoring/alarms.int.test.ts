import { randomInt } from "node:crypto";
import {
  CloudWatchClient,
  type MetricAlarm,
  PutMetricDataCommand,
  paginateDescribeAlarms,
  SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import { GetScheduleCommand, ResourceNotFoundException } from "@aws-sdk/client-scheduler";
import { GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fulfilmentJobId } from "../../../../lambdas/fulfilment-starter/start-fulfilment.js";
import { getTask, scheduleTask } from "../../../../lib/spool/delayed-tasks/runtime/tasks.js";
import { listRuns } from "../../../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { config, ddb, lacks, output, sqs, uniqueId, waitFor } from "../../../helpers/cloud.js";
import { spool } from "../../../helpers/operations.js";
import { clearRuns, jobDefinition, scheduler, taskDeps } from "../../../helpers/scheduling.js";
import { type TopicInbox, topicInbox } from "../../../helpers/topic-inbox.js";
import { newOrder, placeOrder, waitForJob } from "../../../helpers/workflows.js";

/**
 * The operator CLI on the capabilities beside queues (jobs, schedules, backfills) and the alarms
 * SpoolMonitoring gives workflows and schedules, against the deployed stack.
 */

const cloudwatch = new CloudWatchClient(config);

async function allAlarms(): Promise<MetricAlarm[]> {
  const alarms: MetricAlarm[] = [];
  for await (const page of paginateDescribeAlarms(
    { client: cloudwatch },
    { AlarmNamePrefix: "Spool-" },
  )) {
    alarms.push(...(page.MetricAlarms ?? []));
  }
  return alarms;
}

async function arnOf(url: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  return Attributes?.QueueArn ?? "";
}

const queueNameOf = async (url: string) => (await arnOf(url)).split(":").pop() ?? "";

async function scheduleGone(name: string): Promise<boolean> {
  try {
    await scheduler.send(
      new GetScheduleCommand({ Name: name, GroupName: output("TasksScheduleGroupName") }),
    );
    return false;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return true;
    throw error;
  }
}

const SCHEDULER_FIRES = "its EventBridge Scheduler does not fire targets";

describe.concurrent("operating jobs, schedules and backfills with the spool CLI", () => {
  it("jobs show tells what happened to a fulfilled order and to a compensated one", async () => {
    const fulfilled = newOrder();
    const declined = newOrder({ amountCents: 250_000 });
    await Promise.all([placeOrder(fulfilled), placeOrder(declined)]);
    await Promise.all([waitForJob(fulfilled.orderId), waitForJob(declined.orderId)]);

    const ok = await spool("jobs", "show", fulfilmentJobId(fulfilled.orderId), "--json");
    expect(ok.code, ok.err).toBe(0);
    expect(ok.json.job).toMatchObject({
      jobId: fulfilmentJobId(fulfilled.orderId),
      status: "SUCCEEDED",
      businessKey: fulfilled.orderId,
      attempts: 1,
    });
    expect(ok.json.job.correlationId).toEqual(expect.any(String));
    expect(ok.json.execution.status).toBe("SUCCEEDED");
    const steps = (report: { execution: { states: { type: string; name: string }[] } }) =>
      report.execution.states
        .filter((s) => s.type === "Task" && !s.name.startsWith("Record "))
        .map((s) => s.name);
    expect(steps(ok.json)).toEqual([
      "reserveInventory",
      "chargePayment",
      "confirmOrder",
      "notifyCustomer",
    ]);
    expect(ok.json.timeline.map((e: { event: string }) => e.event)).toEqual(
      expect.arrayContaining(["PENDING", "RUNNING", "SUCCEEDED", "execution SUCCEEDED"]),
    );

    // The same job by business key and kind, as a table.
    const table = await spool("jobs", "show", fulfilled.orderId, "--kind", "order-fulfilment");
    expect(table.code, table.err).toBe(0);
    expect(table.out).toContain(`Job ${fulfilmentJobId(fulfilled.orderId)}: SUCCEEDED`);
    expect(table.out).toMatch(/notifyCustomer\s+\S+\s+\S+( \S+)?\s+ok/);

    const compensated = await spool("jobs", "show", fulfilmentJobId(declined.orderId));
    expect(compensated.code, compensated.err).toBe(0);
    expect(compensated.out).toContain(`Job ${fulfilmentJobId(declined.orderId)}: COMPENSATED`);
    expect(compensated.out).toMatch(/last error:\s+PAYMENT_DECLINED at chargePayment \(rejected\)/);
    expect(compensated.out).toMatch(/chargePayment\s.*rejected PAYMENT_DECLINED/);
    expect(compensated.out).toContain("Undo reserveInventory");
    expect(compensated.out).toMatch(/ended .*: FAILED COMPENSATED/);
    const json = (await spool("jobs", "show", fulfilmentJobId(declined.orderId), "--json")).json;
    expect(json.job).toMatchObject({
      status: "COMPENSATED",
      lastError: { error: "PAYMENT_DECLINED", step: "chargePayment", kind: "rejected" },
    });
    expect(json.timeline.map((e: { event: string }) => e.event)).toEqual(
      expect.arrayContaining(["RUNNING", "COMPENSATING", "COMPENSATED"]),
    );
    expect(steps(json)).toEqual(["reserveInventory", "chargePayment", "Undo reserveInventory"]);

    const listed = await spool(
      "jobs",
      "list",
      "--status",
      "compensated",
      "--limit",
      "1000",
      "--scan-limit",
      "1000000",
      "--json",
    );
    expect(listed.code, listed.err).toBe(0);
    const ids = listed.json.jobs.map((j: { jobId: string }) => j.jobId);
    expect(ids).toContain(fulfilmentJobId(declined.orderId));
    expect(ids).not.toContain(fulfilmentJobId(fulfilled.orderId));
    expect(listed.json.jobs.every((j: { status: string }) => j.status === "COMPENSATED")).toBe(
      true,
    );

    const unknown = await spool("jobs", "show", uniqueId("no-such-order"));
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^spool: no job no-such-order-\S+ in \S+: a job id is <kind>:/);
    expect(unknown.err.trim().split("\n")).toHaveLength(1);
  });

  it.skipIf(lacks("localstack", SCHEDULER_FIRES))(
    "schedules list shows a task scheduled through the Scheduler; schedules cancel stops it for good",
    async () => {
      const deps = taskDeps();
      const target = output("CartRemindersQueueArn");
      const cancelled = uniqueId("cli-cancel");
      const control = uniqueId("cli-control");
      // Both due at the same second: the sweep that delivers the control would deliver the other.
      // The margin covers the CLI calls before the cancel on a loaded machine; the test checks it
      // held, so a slow run fails saying so instead of reporting a delivery of a cancelled task.
      const runAt = new Date(Math.ceil((Date.now() + 40_000) / 1000) * 1000);
      const schedule = (key: string) =>
        scheduleTask(
          {
            key,
            runAt,
            payload: { orderId: key, customerId: `customer-${key}` },
            target,
            via: "scheduler",
          },
          deps,
        );
      const [task] = await Promise.all([schedule(cancelled), schedule(control)]);
      expect(task.route).toBe("scheduler");

      const listed = await spool("schedules", "list", "--json");
      expect(listed.code, listed.err).toBe(0);
      const entry = listed.json.delayedTasks.schedules.find(
        (s: { taskKey: string }) => s.taskKey === cancelled,
      );
      expect(entry).toMatchObject({
        scheduleName: task.scheduleName,
        dueAt: runAt.toISOString(),
        target,
        state: "ENABLED",
        taskStatus: "SCHEDULED",
      });
      const nightly = listed.json.recurringJobs.find(
        (j: { job: string }) => j.job === "nightly-reconciliation",
      );
      expect(nightly).toMatchObject({
        expression: "cron(0 2 * * ? *)",
        timeZone: "Europe/Berlin",
        state: "ENABLED",
      });
      // 02:00 in Berlin is 00:00 or 01:00 UTC, within the next day.
      expect(nightly.nextRun).toMatch(/T0[01]:00:00\.000Z$/);
      expect(Date.parse(nightly.nextRun) - Date.now()).toBeGreaterThan(0);
      expect(Date.parse(nightly.nextRun) - Date.now()).toBeLessThanOrEqual(86_400_000);
      const text = await spool("schedules", "list");
      expect(text.out).toMatch(
        new RegExp(
          `${cancelled}\\s+${runAt.toISOString()}\\s+in \\d+ s\\s+cart-reminders\\s+ENABLED\\s+SCHEDULED`,
        ),
      );

      const first = await spool("schedules", "cancel", cancelled);
      expect(first.code, first.err).toBe(0);
      expect(Date.now(), "the cancel came after the task was due: raise the margin").toBeLessThan(
        runAt.getTime(),
      );
      expect(first.out).toContain(`Task ${cancelled} (due ${runAt.toISOString()}): cancelled`);
      expect(await scheduleGone(task.scheduleName ?? "")).toBe(true);
      const again = await spool("schedules", "cancel", cancelled, "--json");
      expect(again.code, again.err).toBe(0);
      expect(again.json.outcome).toBe("already-cancelled");
      const afterCancel = await spool("schedules", "list", "--json");
      expect(
        afterCancel.json.delayedTasks.schedules.map((s: { taskKey: string }) => s.taskKey),
      ).not.toContain(cancelled);

      await waitFor(async () => (await getTask(control, deps))?.status === "DELIVERED", {
        what: `the control task ${control} to be delivered`,
        timeoutMs: 90_000,
      });
      expect(await getTask(cancelled, deps)).toMatchObject({ status: "CANCELLED" });
      const record = await getTask(cancelled, deps);
      expect(record?.deliveries).toBeUndefined();
      expect(record?.droppedDeliveries).toBeUndefined();

      const late = await spool("schedules", "cancel", control);
      expect(late.code).toBe(1);
      expect(late.err).toMatch(
        new RegExp(`^spool: task ${control} cannot be cancelled: it was delivered at `),
      );
      const unknown = await spool("schedules", "cancel", uniqueId("no-such-task"));
      expect(unknown.code).toBe(1);
      expect(unknown.err).toMatch(/^spool: no task no-such-task-\S+ in \S+ \(never scheduled/);
    },
  );

  it("backfill --dry-run writes nothing; a backfill enqueues exactly the missed runs, a second none", async () => {
    const job = jobDefinition("nightly-reconciliation");
    // Three winter nights of 2022 (02:00 Berlin = 01:00 UTC), picked at random so reruns differ.
    const day = Date.UTC(2022, 0, 5) + randomInt(0, 60) * 86_400_000;
    const from = new Date(day);
    const to = new Date(day + 3 * 86_400_000);
    await clearRuns(job, from, to);
    const expected = [0, 1, 2].map((d) => new Date(day + d * 86_400_000 + 3_600_000).toISOString());
    const window = ["--from", from.toISOString(), "--to", to.toISOString()];
    // An operator's explicit catch-up: these runs are years past the job's 6-hour max lateness.
    const args = ["backfill", job.name, ...window, "--max-lateness", "3650d"];

    const dry = await spool(...args, "--dry-run", "--json");
    expect(dry.code, dry.err).toBe(0);
    expect(dry.json).toMatchObject({ expected, enqueued: expected, alreadyRecorded: [] });
    expect(await listRuns(ddb, job.runsTable, job.name, { from, to })).toEqual([]);
    const dryText = await spool(...args, "--dry-run");
    expect(dryText.out).toMatch(/^Dry run: nightly-reconciliation has 3 run\(s\)/);
    expect(dryText.out).toContain("Nothing was recorded or sent.");

    const first = await spool(...args);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain(`${expected[0]}  enqueued`);
    expect(first.out).toMatch(
      /3 run\(s\) .*; 3 enqueued, 0 re-sent, 0 already recorded, 0 too late/,
    );

    const runs = await waitFor(
      async () => {
        const { json } = await spool("runs", job.name, ...window, "--json");
        return json.length === 3 && json.every((r: { status: string }) => r.status === "SUCCEEDED")
          ? json
          : undefined;
      },
      { what: "the three backfilled runs to succeed", timeoutMs: 60_000 },
    );
    expect(runs.map((r: { scheduledTime: string }) => r.scheduledTime).sort()).toEqual(expected);
    for (const run of runs) expect(run).toMatchObject({ source: "backfill", attempts: 1 });
    // Once they ran, a second backfill of the window finds every run recorded: it adds none.
    const second = await spool(...args, "--json");
    expect(second.code, second.err).toBe(0);
    expect(second.json).toMatchObject({ enqueued: [], requeued: [], skippedTooLate: [] });
    expect(second.json.alreadyRecorded.map((r: { status: string }) => r.status)).toEqual([
      "SUCCEEDED",
      "SUCCEEDED",
      "SUCCEEDED",
    ]);
    // One execution each (the job is skip-if-running, so later runs were deferred, not re-run).
    const history = await spool("runs", job.name, ...window);
    for (const time of expected) {
      expect(history.out).toMatch(new RegExp(`${time}\\s+SUCCEEDED\\s+backfill\\s+1\\s`));
    }

    const bad = await spool("backfill", job.name, "--from", "yesterday", "--to", to.toISOString());
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/^spool: .*--from must be an ISO 8601 time with a zone/);
    const unknown = await spool("backfill", "no-such-job", ...window);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^spool: no recurring job no-such-job in stack Spool; its jobs: /);
  });
});

describe("alarms for workflows and schedules", () => {
  let inbox: TopicInbox | undefined;
  let inboxUrl = "";

  beforeAll(async () => {
    inbox = await topicInbox(output("AlarmTopicArn"));
    inboxUrl = inbox.url;
  });

  afterAll(async () => {
    await inbox?.remove();
  });

  const notifications: { AlarmName?: string; NewStateValue?: string }[] = [];
  const alarmNotification = (alarmName: string) =>
    waitFor(
      async () => {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: inboxUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 300,
          }),
        );
        for (const m of Messages) {
          notifications.push(JSON.parse(JSON.parse(m.Body ?? "{}").Message ?? "{}"));
        }
        return notifications.find((n) => n.AlarmName === alarmName && n.NewStateValue === "ALARM");
      },
      { what: `an ALARM notification for ${alarmName}`, intervalMs: 100 },
    );

  it("routes the workflow's own alarms to the platform topic, one alarm per signal", async () => {
    const topic = output("AlarmTopicArn");
    const alarms = await allAlarms();
    const workflow = alarms.filter((a) => a.AlarmName?.startsWith("Spool-workflow-fulfilment-"));
    expect(workflow.map((a) => a.AlarmName).sort()).toEqual([
      "Spool-workflow-fulfilment-aborted",
      "Spool-workflow-fulfilment-failed",
      "Spool-workflow-fulfilment-status-sync-dead-letters",
      "Spool-workflow-fulfilment-timed-out",
    ]);
    for (const alarm of workflow) expect(alarm.AlarmActions).toEqual([topic]);
    // One alarm per signal on this state machine: the adopted one, not a second copy (the stack
    // has other sagas, with alarms of their own).
    const machine = output("FulfilmentStateMachineArn");
    for (const metric of ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]) {
      expect(
        alarms.filter(
          (a) =>
            a.MetricName === metric &&
            a.Dimensions?.some((d) => d.Name === "StateMachineArn" && d.Value === machine),
        ),
        metric,
      ).toHaveLength(1);
    }
    // The stack output still names the saga's own alarm: it is the one that was adopted.
    expect(output("FulfilmentFailedAlarmName")).toBe("Spool-workflow-fulfilment-failed");

    for (const name of ["Spool-workflow-fulfilment-failed", "Spool-workflow-fulfilment-aborted"]) {
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: name, StateValue: "OK", StateReason: "baseline" }),
      );
    }
    // MiniStack publishes no AWS/States metrics: stand in for Step Functions.
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: "AWS/States",
        MetricData: ["ExecutionsFailed", "ExecutionsAborted"].map((MetricName) => ({
          MetricName,
          Dimensions: [{ Name: "StateMachineArn", Value: machine }],
          Value: 1,
          Unit: "Count",
        })),
      }),
    );
    expect(await alarmNotification("Spool-workflow-fulfilment-failed")).toBeDefined();
    expect(await alarmNotification("Spool-workflow-fulfilment-aborted")).toBeDefined();
    for (const name of ["Spool-workflow-fulfilment-failed", "Spool-workflow-fulfilment-aborted"]) {
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: name, StateValue: "OK", StateReason: "test done" }),
      );
    }
  });

  it("watches the schedules' dead-letter queues once each", async () => {
    const topic = output("AlarmTopicArn");
    const alarms = await allAlarms();
    const onQueue = (queueName: string) =>
      alarms.filter(
        (a) =>
          a.MetricName === "ApproximateNumberOfMessagesVisible" &&
          a.Threshold === 0 &&
          a.Dimensions?.some((d) => d.Name === "QueueName" && d.Value === queueName),
      );
    const tasksDlq = await queueNameOf(output("TasksDeadLetterQueueUrl"));
    expect(onQueue(tasksDlq).map((a) => [a.AlarmName, a.AlarmActions])).toEqual([
      ["Spool-delayed-tasks-tasks-target-failures", [topic]],
    ]);
    // Recurring jobs deliver to the jobs queue; its DLQ keeps the queue's alarm, not a copy per job.
    const jobsDlq = await queueNameOf(output("JobsDeadLetterQueueUrl"));
    expect(onQueue(jobsDlq).map((a) => a.AlarmName)).toEqual(["Spool-queue-jobs-dead-letters"]);
    const lost = alarms.filter(
      (a) => a.MetricName === "InvocationsFailedToBeSentToDeadLetterCount",
    );
    expect(lost.map((a) => [a.AlarmName, a.Namespace, a.Dimensions?.[0]?.Name]).sort()).toEqual([
      ["Spool-delayed-tasks-tasks-dead-letter-failures", "AWS/Scheduler", "ScheduleGroup"],
      [
        "Spool-recurring-job-nightly-reconciliation-dead-letter-failures",
        "AWS/Scheduler",
        "ScheduleGroup",
      ],
    ]);
    expect(
      lost.find((a) => a.AlarmName?.startsWith("Spool-delayed-tasks"))?.Dimensions?.[0]?.Value,
    ).toBe(output("TasksScheduleGroupName"));
  });

  it("watches the event path: the outbox and every subscription's delivery dead-letter queue", async () => {
    const topic = output("AlarmTopicArn");
    const alarms = await allAlarms();
    const named = (name: string) => alarms.find((a) => a.AlarmName === name);
    expect(named("Spool-outbox-outbox-dead-letters")?.Dimensions?.[0]?.Value).toBe(
      await queueNameOf(output("OutboxDeadLetterQueueUrl")),
    );
    expect(named("Spool-outbox-outbox-publish-lag")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "IteratorAge",
      Dimensions: [{ Name: "FunctionName", Value: output("OutboxPublisherFunctionName") }],
      AlarmActions: [topic],
    });
    for (const consumer of ["payments", "order-confirmations", "analytics"]) {
      expect(
        named(`Spool-event-subscription-${consumer}-delivery-failures`)?.AlarmActions,
        consumer,
      ).toEqual([topic]);
    }
  });
});
