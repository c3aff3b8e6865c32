import { randomUUID } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import {
  GetScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from "@aws-sdk/client-scheduler";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import {
  cancelTask,
  getTask,
  scheduleTask,
  type TaskDependencies,
  type TasksConfig,
} from "../../../lib/spool/delayed-tasks/runtime/tasks.js";
import { RUN_MESSAGE_KIND } from "../../../lib/spool/recurring-job/contract.js";
import {
  backfillRuns,
  type JobDefinition,
  type JobRun,
  listRuns,
  runItemKey,
} from "../../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import {
  occurrencesBetween,
  parseRecurringExpression,
} from "../../../lib/spool/recurring-job/schedule-expression.js";
import { s3PayloadObjects } from "../../../lib/spool/runtime/payload-objects-s3.js";
import { dim, ok, say, seconds, step, table, waitWithProgress } from "../lib/narrate.js";
import type { DemoContext } from "./queues.js";

const run = randomUUID().slice(0, 6);

function taskDeps(ctx: DemoContext): TaskDependencies {
  return {
    db: ctx.clients.ddb,
    sqs: ctx.clients.sqs,
    scheduler: new SchedulerClient(ctx.clients.config),
    config: JSON.parse(ctx.output("DelayedTasksConfig")) as TasksConfig,
    now: () => new Date(),
    // The stack's DelayedTasks has a payload store: scheduleTask needs a way to write to it.
    payloadObjects: s3PayloadObjects(new S3Client({ ...ctx.clients.config, forcePathStyle: true })),
  };
}

async function reminderOf(ctx: DemoContext, taskKey: string) {
  const { Item } = await ctx.clients.ddb.send(
    new GetCommand({
      TableName: ctx.output("EffectsTableName"),
      Key: { pk: `reminder#${taskKey}`, sk: "delivery" },
      ConsistentRead: true,
    }),
  );
  return Item;
}

export async function delayedTasks(ctx: DemoContext): Promise<void> {
  step(
    "Delayed tasks: a reminder in 5 s (SQS delay), one in ~15 s (one-time schedule), one cancelled",
  );
  const deps = taskDeps(ctx);
  const target = ctx.output("CartRemindersQueueArn");
  const payload = (orderId: string) => ({ orderId, customerId: "customer-42" });
  const soon = `demo-soon-${run}`;
  const later = `demo-later-${run}`;
  const cancelled = `demo-cancelled-${run}`;
  const started = Date.now();
  const a = await scheduleTask({ key: soon, delay: 5, payload: payload(soon), target }, deps);
  const b = await scheduleTask(
    { key: later, delay: 15, payload: payload(later), target, via: "scheduler" },
    deps,
  );
  await scheduleTask({ key: cancelled, delay: 5, payload: payload(cancelled), target }, deps);
  const again = await scheduleTask({ key: soon, delay: 5, payload: payload(soon), target }, deps);
  const cancel = await cancelTask(cancelled, deps);
  say(
    table(
      ["task", "route", "due", "note"],
      [
        [soon, a.route, a.dueAt, `scheduled again: created=${again.created} (same key, same task)`],
        [later, b.route, b.dueAt, `schedule ${b.scheduleName} in ${deps.config.scheduleGroup}`],
        [cancelled, "queue-delay", "", `cancelTask → ${cancel.outcome}`],
      ],
    ),
  );
  const [first, second, dropped] = await Promise.all([
    waitWithProgress(`the reminder ${soon}`, () => reminderOf(ctx, soon)),
    waitWithProgress(`the reminder ${later} (MiniStack's Scheduler sweeps every 10 s)`, () =>
      reminderOf(ctx, later),
    ),
    waitWithProgress("the cancelled task's message to be dropped", async () => {
      const task = await getTask(cancelled, deps);
      return (task?.droppedDeliveries ?? 0) > 0 ? task : undefined;
    }),
  ]);
  for (const [key, item] of [
    [soon, first.value],
    [later, second.value],
  ] as const) {
    const lateBy = (Date.parse(String(item.deliveredAt)) - Date.parse(String(item.dueAt))) / 1000;
    ok(
      `${key} delivered ${seconds(Date.parse(String(item.deliveredAt)) - started)} after scheduling, ${lateBy.toFixed(1)} s after due, via ${item.route}`,
    );
  }
  const gone = await deps.scheduler
    .send(new GetScheduleCommand({ Name: b.scheduleName, GroupName: deps.config.scheduleGroup }))
    .then(
      () => false,
      (error: unknown) => error instanceof ResourceNotFoundException,
    );
  ok(`schedule ${b.scheduleName} ${gone ? "deleted itself after firing" : "is still there (!)"}`);
  ok(
    `${cancelled}: its delayed message arrived and was dropped (droppedDeliveries=${dropped.value.droppedDeliveries}); no reminder sent`,
  );
  ctx.ledger.push(
    { message: `task ${soon}`, outcome: "delivered once (SQS delay)" },
    { message: `task ${later}`, outcome: "delivered once (one-time schedule, deleted)" },
    { message: `task ${cancelled}`, outcome: "cancelled: dropped on arrival" },
  );
}

async function runOf(
  ctx: DemoContext,
  job: JobDefinition,
  time: Date,
): Promise<JobRun | undefined> {
  const { Item } = await ctx.clients.ddb.send(
    new GetCommand({
      TableName: job.runsTable,
      Key: runItemKey(job.name, time),
      ConsistentRead: true,
    }),
  );
  return Item as JobRun | undefined;
}

export async function recurringRun(ctx: DemoContext): Promise<void> {
  step(
    "Recurring job: last night's 02:00 Europe/Berlin reconciliation, caught up and deduplicated",
  );
  const jobs = JSON.parse(ctx.output("RecurringJobs")) as Record<string, JobDefinition>;
  const job = jobs["nightly-reconciliation"];
  if (!job) throw new Error("the deployed stack has no nightly-reconciliation job");
  const now = new Date();
  const [lastNight] = occurrencesBetween(
    parseRecurringExpression(job.schedule),
    new Date(now.getTime() - 86_400_000),
    now,
    { timeZone: job.timeZone },
  );
  if (!lastNight) throw new Error("no 02:00 occurrence in the last 24 hours");
  const deps = { db: ctx.clients.ddb, sqs: ctx.clients.sqs, now: () => new Date() };
  const window = { job, from: lastNight, to: new Date(lastNight.getTime() + 1) };
  // The run is past the job's 6-hour max lateness, so the operator says it is still wanted.
  const catchUp = { ...window, maxLatenessSeconds: 2 * 86_400 };
  const first = await backfillRuns(catchUp, deps);
  say(
    `backfill ${lastNight.toISOString()} (02:00 in ${job.timeZone}): ${first.enqueued.length} enqueued, ${first.alreadyRecorded.length} already recorded`,
  );
  const { value: done, elapsedMs } = await waitWithProgress("the run to finish", async () => {
    const r = await runOf(ctx, job, lastNight);
    return r?.status === "SUCCEEDED" || r?.status === "SKIPPED" ? r : undefined;
  });
  ok(`run ${done.runKey} ${done.status} in ${seconds(elapsedMs)}: ${JSON.stringify(done.outcome)}`);

  // The same run delivered again, as a Scheduler retry would.
  await ctx.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: ctx.output("JobsQueueUrl"),
      MessageBody: JSON.stringify({
        kind: RUN_MESSAGE_KIND,
        schemaVersion: 1,
        job: job.name,
        scheduledTime: lastNight.toISOString(),
        source: "schedule",
      }),
    }),
  );
  const { value: after } = await waitWithProgress("the duplicate to be recognised", async () => {
    const r = await runOf(ctx, job, lastNight);
    return (r?.deliveries ?? 0) > (done.deliveries ?? 0) ? r : undefined;
  });
  const second = await backfillRuns(catchUp, deps);
  ok(
    `duplicate delivery recognised by run key: attempts ${after.attempts}, duplicate deliveries ${after.duplicateDeliveries}; a second backfill enqueued ${second.enqueued.length}`,
  );

  const heartbeat = jobs.heartbeat;
  if (heartbeat) {
    const runs = await listRuns(ctx.clients.ddb, heartbeat.runsTable, heartbeat.name, { limit: 3 });
    say(dim("the every-minute heartbeat (test deployments), fired by the Scheduler itself:"));
    say(
      table(
        ["run key", "status", "scheduled time from", "deliveries"],
        runs.map((r) => [r.runKey, r.status, r.scheduledTimeSource ?? "", r.deliveries ?? 0]),
      ),
    );
  }
  ctx.ledger.push({
    message: `run ${done.runKey}`,
    outcome: `${done.status} once; ${after.duplicateDeliveries ?? 0} duplicate(s) ignored`,
  });
}
