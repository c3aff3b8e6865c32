import { randomInt } from "node:crypto";
import { GetScheduleCommand, ResourceNotFoundException } from "@aws-sdk/client-scheduler";
import { SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { cartReminderKey } from "../../../lambdas/order-events/cart-reminder.js";
import { taskMessage } from "../../../lib/spool/delayed-tasks/runtime/message.js";
import {
  cancelTask,
  getTask,
  scheduleNameFor,
  scheduleTask,
} from "../../../lib/spool/delayed-tasks/runtime/tasks.js";
import { RUN_MESSAGE_KIND } from "../../../lib/spool/recurring-job/contract.js";
import {
  backfillRuns,
  type JobRun,
  listRuns,
  runItemKey,
} from "../../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { spoolMessage } from "../../../lib/spool/runtime/producer.js";
import { queueUrlFromArn } from "../../../lib/spool/runtime/retry-delays.js";
import { ddb, getItem, lacks, output, sqs, uniqueId, waitFor } from "../../helpers/cloud.js";
import { clearRuns, jobDefinition, scheduler, taskDeps } from "../../helpers/scheduling.js";

const target = () => output("CartRemindersQueueArn");
const effects = () => output("EffectsTableName");
const reminder = (taskKey: string) =>
  getItem(effects(), { pk: `reminder#${taskKey}`, sk: "delivery" });
const waitForReminder = (taskKey: string, timeoutMs = 30_000) =>
  waitFor(() => reminder(taskKey), { what: `the reminder of ${taskKey}`, timeoutMs });
const payload = (orderId: string) => ({ orderId, customerId: `customer-${orderId}` });

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

describe.concurrent("delayed tasks", () => {
  it("delivers a task delayed 5 s once, not before it is due, with its key, due time and correlation id", async () => {
    const key = uniqueId("t-delay");
    const correlationId = uniqueId("corr");
    const task = await scheduleTask(
      { key, delay: 5, payload: payload(key), target: target(), correlationId },
      taskDeps(),
    );
    expect(task).toMatchObject({ created: true, route: "queue-delay", status: "SCHEDULED" });

    const row = await waitForReminder(key);
    expect(Date.parse(row.deliveredAt)).toBeGreaterThanOrEqual(Date.parse(task.dueAt));
    expect(row).toMatchObject({
      taskKey: key,
      dueAt: task.dueAt,
      correlationId,
      route: "queue-delay",
    });
    expect(row.duplicateDeliveries).toBeUndefined();
    const record = await waitFor(
      async () => {
        const t = await getTask(key, taskDeps());
        return t?.status === "DELIVERED" ? t : undefined;
      },
      { what: "the task record to say DELIVERED" },
    );
    expect(record.deliveries).toBe(1);
  });

  it("delivers the same key scheduled twice (one after another and at once) exactly once", async () => {
    const key = uniqueId("t-twice");
    const input = { key, delay: 2, payload: payload(key), target: target() };
    // Two concurrent calls may both send a message; the consumer must still deliver once.
    const [a, b] = await Promise.all([
      scheduleTask(input, taskDeps()),
      scheduleTask(input, taskDeps()),
    ]);
    const again = await scheduleTask(input, taskDeps());
    expect(again.created).toBe(false);
    expect(again.dueAt).toBe(a.created ? a.dueAt : b.dueAt);
    await expect(
      scheduleTask(
        { ...input, payload: { ...payload(key), customerId: "someone-else" } },
        taskDeps(),
      ),
    ).rejects.toMatchObject({ code: "TASK_KEY_CONFLICT" });

    const row = await waitForReminder(key);
    expect(row.duplicateDeliveries).toBeUndefined();
    const record = await waitFor(
      async () => {
        const t = await getTask(key, taskDeps());
        return t?.status === "DELIVERED" ? t : undefined;
      },
      { what: "DELIVERED" },
    );
    expect(record.deliveries).toBe(1);
  });

  it("holds a task the Scheduler sends early until it is due, and runs it once", async () => {
    const key = uniqueId("t-early");
    const task = await scheduleTask(
      { key, delay: 15, payload: payload(key), target: target() },
      taskDeps(),
    );
    // What a one-time schedule firing early within its minute sends: the task, well before due.
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: queueUrlFromArn(target()),
          body: taskMessage(task, "scheduler", payload(key)),
          correlationId: task.correlationId,
        }),
      ),
    );

    const row = await waitForReminder(key, 60_000);
    // Without the hold, the early copy would have run at once, about 15 s before its due time.
    expect(Date.parse(row.deliveredAt)).toBeGreaterThanOrEqual(Date.parse(task.dueAt));
    const record = await waitFor(
      async () => {
        const t = await getTask(key, taskDeps());
        return t?.status === "DELIVERED" ? t : undefined;
      },
      { what: "the early task's record to say DELIVERED" },
    );
    expect(record.deliveries).toBe(1);
    expect(row.duplicateDeliveries).toBeUndefined();
  });

  it("drops a cancelled task delayed on SQS when it arrives, and records the drop", async () => {
    const key = uniqueId("t-cancel-sqs");
    await scheduleTask({ key, delay: 3, payload: payload(key), target: target() }, taskDeps());
    expect((await cancelTask(key, taskDeps())).outcome).toBe("cancelled");
    expect((await cancelTask(key, taskDeps())).outcome).toBe("already-cancelled");
    await expect(
      scheduleTask({ key, delay: 3, payload: payload(key), target: target() }, taskDeps()),
    ).rejects.toMatchObject({ code: "TASK_CANCELLED" });

    // The delayed message cannot be deleted: it arrives, finds the tombstone, and is dropped.
    const record = await waitFor(
      async () => {
        const t = await getTask(key, taskDeps());
        return (t?.droppedDeliveries ?? 0) >= 1 ? t : undefined;
      },
      { what: "the cancelled task's delivery to be dropped" },
    );
    expect(record.status).toBe("CANCELLED");
    expect(record.deliveries).toBeUndefined();
    expect(await reminder(key)).toBeUndefined();
  });

  it.skipIf(lacks("localstack", SCHEDULER_FIRES))(
    "delivers a task scheduled ~60 s ahead through a one-time schedule once, then the schedule is gone",
    async () => {
      // '#' cannot be in a schedule name: the name is derived from a hash of the key.
      const key = `t-sched#${uniqueId("x")}`;
      const name = scheduleNameFor(key);
      expect(name).not.toBe(key);
      const correlationId = uniqueId("corr");
      const input = {
        key,
        runAt: new Date(Date.now() + 60_000),
        payload: payload(uniqueId("order")),
        target: target(),
        correlationId,
        via: "scheduler" as const,
      };
      const task = await scheduleTask(input, taskDeps());
      expect(task).toMatchObject({ created: true, route: "scheduler", scheduleName: name });
      expect(await scheduleTask(input, taskDeps())).toMatchObject({
        created: false,
        dueAt: task.dueAt,
      });

      const schedule = await scheduler.send(
        new GetScheduleCommand({ Name: name, GroupName: output("TasksScheduleGroupName") }),
      );
      expect(schedule).toMatchObject({
        ScheduleExpression: `at(${task.dueAt.slice(0, 19)})`,
        ScheduleExpressionTimezone: "UTC",
        ActionAfterCompletion: "DELETE",
        FlexibleTimeWindow: { Mode: "OFF" },
      });
      expect(schedule.Target?.RetryPolicy).toEqual({
        MaximumEventAgeInSeconds: 86_400,
        MaximumRetryAttempts: 185,
      });
      expect(schedule.Target?.DeadLetterConfig?.Arn).toMatch(/TasksDeadLetterQueue/);

      const row = await waitForReminder(key, 120_000);
      expect(Date.parse(row.deliveredAt)).toBeGreaterThanOrEqual(Date.parse(task.dueAt));
      expect(row).toMatchObject({ route: "scheduler", dueAt: task.dueAt, correlationId });
      await waitFor(() => scheduleGone(name), { what: `schedule ${name} to delete itself` });
      expect(row.duplicateDeliveries).toBeUndefined();
      expect((await getTask(key, taskDeps()))?.deliveries).toBe(1);
    },
  );

  it.skipIf(lacks("localstack", SCHEDULER_FIRES))(
    "never delivers a task whose one-time schedule was cancelled (a sentinel due at the same time arrives)",
    async () => {
      const runAt = new Date(Date.now() + 20_000);
      const cancelled = uniqueId("t-cancel-sched");
      const sentinel = uniqueId("t-sentinel");
      for (const key of [cancelled, sentinel]) {
        await scheduleTask(
          { key, runAt, payload: payload(key), target: target(), via: "scheduler" },
          taskDeps(),
        );
      }
      const result = await cancelTask(cancelled, taskDeps());
      expect(result.outcome).toBe("cancelled");
      expect(await scheduleGone(scheduleNameFor(cancelled))).toBe(true);

      await waitForReminder(sentinel, 90_000);
      expect(await reminder(cancelled)).toBeUndefined();
      const record = await getTask(cancelled, taskDeps());
      expect(record).toMatchObject({ status: "CANCELLED" });
      expect(record?.droppedDeliveries).toBeUndefined();
    },
  );

  it("reminds about an abandoned cart, and not about a paid one (reminder cancelled on payment)", async () => {
    const abandoned = uniqueId("cart-a");
    const paid = uniqueId("cart-p");
    const correlationId = uniqueId("corr-cart");
    const event = (orderId: string, seq: number, type: string) =>
      spoolMessage({
        queueUrl: output("OrdersQueueUrl"),
        body: {
          schemaVersion: 1,
          orderId,
          seq,
          type,
          customerId: "customer-7",
          amountCents: 1_999,
          occurredAt: new Date().toISOString(),
        },
        correlationId,
        groupId: orderId,
        deduplicationId: `${orderId}#${seq}`,
      });
    for (const message of [
      event(abandoned, 1, "OrderPlaced"),
      event(paid, 1, "OrderPlaced"),
      event(paid, 2, "OrderPaid"),
    ]) {
      await sqs.send(new SendMessageCommand(message));
    }
    // The test deployment's reminder is due 10 s after the order (a day in production).
    const row = await waitForReminder(cartReminderKey(abandoned), 60_000);
    expect(row).toMatchObject({ orderId: abandoned, customerId: "customer-7", correlationId });
    const record = await waitFor(
      async () => {
        const t = await getTask(cartReminderKey(paid), taskDeps());
        return (t?.droppedDeliveries ?? 0) >= 1 ? t : undefined;
      },
      { what: "the paid order's reminder to be dropped", timeoutMs: 60_000 },
    );
    expect(record.status).toBe("CANCELLED");
    expect(await reminder(cartReminderKey(paid))).toBeUndefined();
  });
});

const jobsQueue = () => output("JobsQueueUrl");
const heartbeatEffect = (runKey: string) =>
  getItem(effects(), { pk: `job-effect#${runKey}`, sk: "effect" });

async function runRecord(job: string, scheduledTime: Date): Promise<JobRun | undefined> {
  return (await getItem(jobDefinition(job).runsTable, runItemKey(job, scheduledTime))) as
    | JobRun
    | undefined;
}

function runMessage(job: string, scheduledTime: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    kind: RUN_MESSAGE_KIND,
    schemaVersion: 1,
    job,
    scheduledTime,
    source: "manual",
    ...extra,
  });
}

/** A scheduled time of its own for a hand-sent run (within the test jobs' 10-minute lateness). */
function recentTime(): Date {
  return new Date(Date.now() - randomInt(1_000, 240_000));
}

describe.concurrent("recurring jobs", () => {
  it("deploys the nightly reconciliation at 02:00 Europe/Berlin with retries and a DLQ", async () => {
    const job = jobDefinition("nightly-reconciliation");
    const schedule = await scheduler.send(
      new GetScheduleCommand({ Name: job.scheduleName, GroupName: job.scheduleGroup }),
    );
    expect(schedule).toMatchObject({
      ScheduleExpression: "cron(0 2 * * ? *)",
      // Dropped by MiniStack's CloudFormation; restored by the drift reconciler after deploy.
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      State: "ENABLED",
    });
    expect(schedule.Target?.RetryPolicy).toEqual({
      MaximumEventAgeInSeconds: 21_600,
      MaximumRetryAttempts: 185,
    });
    expect(schedule.Target?.DeadLetterConfig?.Arn).toMatch(/Jobs-[^:]+-dlq$/);
    expect(JSON.parse(schedule.Target?.Input ?? "{}")).toMatchObject({
      job: "nightly-reconciliation",
      scheduledTime: "<aws.scheduler.scheduled-time>",
    });
  });

  it.skipIf(lacks("localstack", SCHEDULER_FIRES))(
    "gives a real scheduled run delivered twice more (its own payload re-sent) one effect",
    async () => {
      const job = jobDefinition("heartbeat");
      const started = Date.now();
      const run = await waitFor(
        async () => {
          const runs = await listRuns(ddb, job.runsTable, job.name, { limit: 3 });
          return runs.find(
            (r) =>
              r.source === "schedule" &&
              r.status === "SUCCEEDED" &&
              Date.parse(r.startedAt ?? "") >= started,
          );
        },
        { what: "a real run of the every-minute heartbeat", timeoutMs: 150_000, intervalMs: 200 },
      );
      // The schedule's own payload, exactly as the Scheduler sends it (on MiniStack with the
      // scheduled-time placeholder unsubstituted), twice.
      const schedule = await scheduler.send(
        new GetScheduleCommand({ Name: job.scheduleName, GroupName: job.scheduleGroup }),
      );
      const body = schedule.Target?.Input ?? "";
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: jobsQueue(),
          Entries: [0, 1].map((i) => ({ Id: `d${i}`, MessageBody: body })),
        }),
      );
      const scheduledTime = new Date(run.scheduledTime);
      expect(scheduledTime.getUTCSeconds()).toBe(0);
      const after = await waitFor(
        async () => {
          const r = await runRecord(job.name, scheduledTime);
          return (r?.deliveries ?? 0) >= 3 ? r : undefined;
        },
        { what: "both duplicates to be recognised" },
      );
      expect(after).toMatchObject({ status: "SUCCEEDED", attempts: 1, duplicateDeliveries: 2 });
      expect((await heartbeatEffect(run.runKey))?.executions).toBe(1);
    },
  );

  it("gives a run with an explicit scheduled time, delivered three times, one effect", async () => {
    const job = jobDefinition("heartbeat");
    const time = recentTime();
    const body = runMessage(job.name, time.toISOString());
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: jobsQueue(),
        Entries: [0, 1].map((i) => ({ Id: `d${i}`, MessageBody: body })),
      }),
    );
    await waitFor(async () => (await runRecord(job.name, time))?.status === "SUCCEEDED", {
      what: "the run to succeed",
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: jobsQueue(), MessageBody: body }));
    const run = await waitFor(
      async () => {
        const r = await runRecord(job.name, time);
        return (r?.deliveries ?? 0) >= 3 ? r : undefined;
      },
      { what: "three deliveries" },
    );
    expect(run).toMatchObject({
      status: "SUCCEEDED",
      attempts: 1,
      duplicateDeliveries: 2,
      scheduledTimeSource: "payload",
      source: "manual",
      outcome: { executions: 1 },
    });
    expect((await heartbeatEffect(run.runKey))?.executions).toBe(1);
    const history = await listRuns(ddb, job.runsTable, job.name, {
      from: time,
      to: new Date(time.getTime() + 1),
    });
    expect(history.map((r) => r.runKey)).toEqual([run.runKey]);
  });

  it("skips a scheduled run that starts while another run of a skip-if-running job holds the lock", async () => {
    const job = jobDefinition("overlap-probe");
    const [first, second] = [recentTime(), recentTime()];
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: jobsQueue(),
        Entries: [first, second].map((t, i) => ({
          Id: `r${i}`,
          MessageBody: runMessage(job.name, t.toISOString(), {
            source: "schedule",
            parameters: { holdMs: 3000 },
          }),
        })),
      }),
    );
    const runs = await waitFor(
      async () => {
        const rs = await Promise.all([runRecord(job.name, first), runRecord(job.name, second)]);
        return rs.every((r) => r?.status === "SUCCEEDED" || r?.status === "SKIPPED")
          ? (rs as JobRun[])
          : undefined;
      },
      // Each run holds the lock 3 s; a loaded machine (CI's IAM pass) has needed more than the
      // default 30 s to deliver and finish both.
      { what: "both runs to finish", timeoutMs: 90_000 },
    );
    const succeeded = runs.filter((r) => r.status === "SUCCEEDED");
    const skipped = runs.filter((r) => r.status === "SKIPPED");
    expect(succeeded).toHaveLength(1);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ skipReason: "overlap", blockedBy: succeeded[0]?.runKey });
    expect(await heartbeatEffect(skipped[0]?.runKey ?? "")).toBeUndefined();
  });

  it("backfills exactly the runs of a past window; a second backfill adds none", async () => {
    const job = jobDefinition("nightly-reconciliation");
    // Three winter days (CET: 02:00 Berlin = 01:00 UTC), picked at random so reruns differ.
    const day = Date.UTC(2021, 0, 5) + randomInt(0, 60) * 86_400_000;
    const from = new Date(day);
    const to = new Date(day + 3 * 86_400_000);
    await clearRuns(job, from, to);
    const expected = [0, 1, 2].map((d) => new Date(day + d * 86_400_000 + 3_600_000).toISOString());
    const deps = { db: ddb, sqs, now: () => new Date() };
    // An operator's explicit catch-up: these runs are years past the job's 6-hour max lateness.
    const catchUp = { job, from, to, maxLatenessSeconds: 10 * 365 * 86_400 };

    const first = await backfillRuns(catchUp, deps);
    expect(first.expected).toEqual(expected);
    expect(first.enqueued).toEqual(expected);
    const second = await backfillRuns(catchUp, deps);
    expect(second.enqueued).toEqual([]);
    expect(second.skippedTooLate).toEqual([]);

    const runs = await waitFor(
      async () => {
        const rs = await listRuns(ddb, job.runsTable, job.name, { from, to });
        return rs.length === 3 && rs.every((r) => r.status === "SUCCEEDED") ? rs : undefined;
      },
      { what: "the three backfilled runs to succeed", timeoutMs: 60_000 },
    );
    expect(runs.map((r) => r.scheduledTime).sort()).toEqual(expected);
    for (const run of runs) {
      expect(run).toMatchObject({ attempts: 1, source: "backfill" });
      const report = await getItem(effects(), { pk: `reconciliation#${run.runKey}`, sk: "report" });
      expect(report).toMatchObject({ job: job.name, scheduledTime: run.scheduledTime });
      expect(report?.duplicateExecutions).toBeUndefined();
    }
    const third = await backfillRuns(catchUp, deps);
    expect(third.enqueued).toEqual([]);
    expect(third.requeued).toEqual([]);
    expect(third.alreadyRecorded.map((r) => r.status)).toEqual([
      "SUCCEEDED",
      "SUCCEEDED",
      "SUCCEEDED",
    ]);
  });

  it("backfills over live runs of the every-minute heartbeat without a second effect for any run", async () => {
    const job = jobDefinition("heartbeat");
    const minute = 60_000;
    const to = new Date(Math.floor(Date.now() / minute) * minute - minute);
    const from = new Date(to.getTime() - 3 * minute);
    const deps = { db: ddb, sqs, now: () => new Date() };
    // Whatever the live schedule already ran is left alone; only missing runs are enqueued.
    const first = await backfillRuns({ job, from, to }, deps);
    expect(first.expected).toHaveLength(3);
    expect(first.enqueued.length + first.alreadyRecorded.length + first.requeued.length).toBe(3);
    const runs = await waitFor(
      async () => {
        // Other tests' hand-sent runs (at odd seconds) may share the window: only the schedule's.
        const rs = (await listRuns(ddb, job.runsTable, job.name, { from, to })).filter((r) =>
          first.expected.includes(r.scheduledTime),
        );
        return rs.length === 3 && rs.every((r) => r.status === "SUCCEEDED") ? rs : undefined;
      },
      { what: "every heartbeat run in the window to succeed" },
    );
    for (const run of runs) {
      expect(run.attempts).toBe(1);
      expect((await heartbeatEffect(run.runKey))?.executions).toBe(1);
    }
    expect((await backfillRuns({ job, from, to }, deps)).enqueued).toEqual([]);
  });

  it("records the runs of a backfill older than the max lateness as SKIPPED, never executed", async () => {
    const job = jobDefinition("nightly-reconciliation");
    const day = Date.UTC(2020, 0, 5) + randomInt(0, 60) * 86_400_000;
    const from = new Date(day);
    const to = new Date(day + 2 * 86_400_000);
    await clearRuns(job, from, to);
    const report = await backfillRuns({ job, from, to }, { db: ddb, sqs, now: () => new Date() });
    expect(report.enqueued).toEqual([]);
    expect(report.skippedTooLate).toHaveLength(2);
    const runs = await listRuns(ddb, job.runsTable, job.name, { from, to });
    expect(runs.map((r) => [r.status, r.skipReason])).toEqual([
      ["SKIPPED", "too-late"],
      ["SKIPPED", "too-late"],
    ]);
    for (const run of runs) {
      expect(
        await getItem(effects(), { pk: `reconciliation#${run.runKey}`, sk: "report" }),
      ).toBeUndefined();
    }
  });
});
