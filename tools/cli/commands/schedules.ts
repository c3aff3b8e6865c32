import type { Command } from "commander";
import type {
  CancelOutcome,
  Task,
  TasksConfig,
} from "../../../lib/spool/delayed-tasks/runtime/tasks.js";
import type { JobDefinition } from "../../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { SpoolCliError } from "../lib/errors.js";
import { formatSeconds, renderTable } from "../lib/format.js";
import { positiveInt } from "../lib/options.js";
import type { JobSchedule, TaskScheduleListing } from "../lib/schedules.js";
import { jsonOutput, type StackInventory } from "../lib/stack.js";
import type { CliContext, SpoolCommand } from "../spool.js";

const TASKS_OUTPUT = "DelayedTasksConfig";
const JOBS_OUTPUT = "RecurringJobs";

function tasksConfig(inventory: StackInventory): TasksConfig {
  return jsonOutput<TasksConfig>(inventory, TASKS_OUTPUT, "the delayed tasks' configuration");
}

export function jobDefinitions(inventory: StackInventory): Record<string, JobDefinition> {
  return jsonOutput<Record<string, JobDefinition>>(
    inventory,
    JOBS_OUTPUT,
    "the recurring jobs' definitions",
  );
}

/** "cart-reminders" for a queue of the stack, else the queue's SQS name. */
function queueLabel(inventory: StackInventory, arn: string | null): string {
  if (!arn) return "-";
  return inventory.queues.find((q) => q.arn === arn)?.name ?? arn.split(":").pop() ?? arn;
}

function relative(iso: string | null, now: Date): string {
  if (!iso) return "";
  const seconds = (Date.parse(iso) - now.getTime()) / 1000;
  return seconds >= 0 ? `in ${formatSeconds(seconds)}` : `${formatSeconds(-seconds)} overdue`;
}

export interface SchedulesReport {
  readonly delayedTasks: TaskScheduleListing | null;
  readonly recurringJobs: JobSchedule[] | null;
}

export function renderSchedules(
  report: SchedulesReport,
  inventory: StackInventory,
  now: Date,
): string {
  const lines: string[] = [];
  const tasks = report.delayedTasks;
  if (tasks) {
    lines.push(
      `Delayed tasks: ${tasks.schedules.length}${tasks.truncated ? "+" : ""} one-time schedule(s) in group ${tasks.scheduleGroup}`,
    );
    if (tasks.schedules.length) {
      lines.push(
        "",
        renderTable(
          ["task key", "due (UTC)", "", "target", "state", "task"],
          tasks.schedules.map((s) => [
            s.taskKey ?? `(schedule ${s.scheduleName})`,
            s.dueAt ?? s.expression ?? "?",
            relative(s.dueAt, now),
            queueLabel(inventory, s.target),
            s.state ?? "?",
            s.taskStatus ?? "no record",
          ]),
        ),
      );
    }
    if (tasks.truncated) lines.push("(more schedules exist: raise --limit)");
    lines.push(
      "Tasks due within 15 minutes travel as delayed SQS messages, not schedules (`spool status` counts them as delayed).",
    );
  }
  const jobs = report.recurringJobs;
  if (jobs) {
    if (lines.length) lines.push("");
    lines.push(`Recurring jobs: ${jobs.length}`, "");
    lines.push(
      renderTable(
        ["job", "expression", "time zone", "state", "next run (UTC)", "", "last run"],
        jobs.map((j) => [
          j.job,
          j.expression ?? "-",
          j.timeZone,
          j.state ?? "missing",
          j.nextRun ?? `- (${j.noNextRun ?? "none"})`,
          relative(j.nextRun, now),
          j.lastRun ? `${j.lastRun.scheduledTime} ${j.lastRun.status}` : "none recorded",
        ]),
      ),
    );
  }
  return lines.join("\n");
}

async function list(context: CliContext, options: { limit: number }): Promise<void> {
  // What runs a command is loaded as it runs, not as it is declared (tools/cli/README.md).
  const { listJobSchedules, listTaskSchedules } = await import("../lib/schedules.js");
  const inventory = await context.inventory();
  const hasTasks = inventory.outputs[TASKS_OUTPUT] !== undefined;
  const hasJobs = inventory.outputs[JOBS_OUTPUT] !== undefined;
  if (!hasTasks && !hasJobs) {
    throw new SpoolCliError(
      `stack ${inventory.stackName} declares no schedules (no ${TASKS_OUTPUT} or ${JOBS_OUTPUT} output): is --stack the Spool stack?`,
    );
  }
  const { scheduler, dynamo } = context.clients();
  const deps = { scheduler, db: dynamo };
  const now = new Date();
  const [delayedTasks, recurringJobs] = await Promise.all([
    hasTasks ? listTaskSchedules(deps, tasksConfig(inventory), options.limit) : null,
    hasJobs ? listJobSchedules(deps, Object.values(jobDefinitions(inventory)), now) : null,
  ]);
  const report: SchedulesReport = { delayedTasks, recurringJobs };
  context.emit({ text: renderSchedules(report, inventory, now), json: report });
}

const CANCELLED_TEXT: Partial<Record<CancelOutcome, (task: Task | undefined) => string>> = {
  cancelled: (task) =>
    task?.route === "scheduler"
      ? `its schedule ${task.scheduleName} is deleted; nothing will be delivered`
      : "it travels as a delayed SQS message, which cannot be deleted: its consumer drops it on arrival",
  "already-cancelled": (task) =>
    `it was cancelled already${task?.cancelledAt ? ` at ${task.cancelledAt}` : ""}; nothing to do`,
};

async function cancel(context: CliContext, key: string): Promise<void> {
  const { cancelTask } = await import("../../../lib/spool/delayed-tasks/runtime/tasks.js");
  const inventory = await context.inventory();
  const config = tasksConfig(inventory);
  const clients = context.clients();
  const result = await cancelTask(key, {
    db: clients.dynamo,
    sqs: clients.sqs,
    scheduler: clients.scheduler,
    config,
    now: () => new Date(),
  });
  const { outcome, task } = result;
  const explain = CANCELLED_TEXT[outcome];
  if (explain) {
    context.emit({
      text: `Task ${key} (due ${task?.dueAt ?? "?"}): ${outcome}: ${explain(task)}.`,
      json: result,
    });
    return;
  }
  if (outcome === "not-found") {
    const jobs = inventory.outputs[JOBS_OUTPUT] ? jobDefinitions(inventory) : {};
    if (jobs[key]) {
      throw new SpoolCliError(
        `${key} is a recurring job, not a delayed task: cancel takes a task key (turn a job off with its construct's enabled: false)`,
      );
    }
    throw new SpoolCliError(
      `no task ${key} in ${config.table} (never scheduled, or its record expired); spool schedules list shows the scheduled ones`,
    );
  }
  if (outcome === "delivering") {
    throw new SpoolCliError(
      `task ${key} cannot be cancelled: a consumer has claimed it and is delivering it now`,
    );
  }
  throw new SpoolCliError(
    `task ${key} cannot be cancelled: it was delivered${task?.deliveredAt ? ` at ${task.deliveredAt}` : ""}`,
  );
}

export const schedulesCommand: SpoolCommand = {
  register(program: Command, context: CliContext) {
    const schedules = program
      .command("schedules")
      .description(
        "delayed tasks' one-time schedules and recurring jobs' schedules; cancel a task",
      );

    schedules
      .command("list")
      .description(
        "delayed tasks scheduled (key, due time, target) and recurring jobs (expression, time zone, state, next and last run)",
      )
      .option(
        "--limit <n>",
        "read at most n delayed-task schedules",
        positiveInt("--limit", 100_000),
        100,
      )
      .action((options: { limit: number }) => list(context, options));

    schedules
      .command("cancel")
      .description(
        "cancel a delayed task by its key: its record and its schedule, together (safe to repeat)",
      )
      .argument("<task-key>", "the task's key (cart-reminder#o-42)")
      .action((key: string) => cancel(context, key));
  },
};
