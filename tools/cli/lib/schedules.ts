import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  paginateListSchedules,
  ResourceNotFoundException,
  type SchedulerClient,
} from "@aws-sdk/client-scheduler";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  getTask,
  type TaskStatus,
  type TasksConfig,
} from "../../../lib/spool/delayed-tasks/runtime/tasks.js";
import {
  type JobDefinition,
  listRuns,
} from "../../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import {
  nextOccurrenceAfter,
  parseRecurringExpression,
} from "../../../lib/spool/recurring-job/schedule-expression.js";
import { mapLimited } from "./map-limited.js";

/** A delayed task's one-time schedule, joined with the task's record. */
export interface TaskSchedule {
  readonly scheduleName: string;
  /** From the schedule's input (what the target will receive). */
  readonly taskKey: string | null;
  readonly dueAt: string | null;
  readonly expression: string | null;
  readonly state: string | null;
  /** The target queue's ARN. */
  readonly target: string | null;
  readonly correlationId: string | null;
  /** The task record's status; null when the record is gone (expired) or unreadable. */
  readonly taskStatus: TaskStatus | null;
}

export interface TaskScheduleListing {
  readonly scheduleGroup: string;
  readonly schedules: TaskSchedule[];
  /** More schedules exist than the limit let us read. */
  readonly truncated: boolean;
}

export interface JobSchedule {
  readonly job: string;
  readonly scheduleName: string;
  readonly scheduleGroup: string;
  readonly expression: string | null;
  readonly timeZone: string;
  /** ENABLED | DISABLED; null when the schedule is missing. */
  readonly state: string | null;
  /** The next run as AWS would fire it (in the schedule's time zone); null when there is none. */
  readonly nextRun: string | null;
  /** Why there is no next run (disabled, ended, missing). */
  readonly noNextRun?: string;
  readonly target: string | null;
  readonly lastRun: { readonly scheduledTime: string; readonly status: string } | null;
}

function parseInput(input: string | undefined): Record<string, unknown> {
  try {
    const parsed = input ? (JSON.parse(input) as unknown) : undefined;
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const text = (value: unknown) => (typeof value === "string" ? value : null);

/** `at(2026-11-20T10:00:00)` in UTC → its ISO time. */
function atTime(expression: string | undefined, timeZone: string | undefined): string | null {
  const match = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression ?? "");
  if (!match || (timeZone && timeZone !== "UTC")) return null;
  return new Date(`${match[1]}Z`).toISOString();
}

/**
 * The one-time schedules of the delayed tasks' schedule group (at most `limit`, due soonest
 * first), each with what its input says (task key, due time) and its task record's status.
 */
export async function listTaskSchedules(
  deps: { readonly scheduler: SchedulerClient; readonly db: DynamoDBDocumentClient },
  config: Pick<TasksConfig, "scheduleGroup" | "table">,
  limit: number,
): Promise<TaskScheduleListing> {
  const names: string[] = [];
  let truncated = false;
  for await (const page of paginateListSchedules(
    { client: deps.scheduler, pageSize: Math.min(100, limit) },
    { GroupName: config.scheduleGroup },
  )) {
    for (const summary of page.Schedules ?? []) {
      if (names.length >= limit) {
        truncated = true;
        break;
      }
      if (summary.Name) names.push(summary.Name);
    }
    if (truncated) break;
  }
  const schedules = await mapLimited(names, 5, async (name): Promise<TaskSchedule | undefined> => {
    let schedule: GetScheduleCommandOutput;
    try {
      schedule = await deps.scheduler.send(
        new GetScheduleCommand({ Name: name, GroupName: config.scheduleGroup }),
      );
    } catch (error) {
      // Fired (and deleted itself) or cancelled between the list and now.
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
    const input = parseInput(schedule.Target?.Input);
    const taskKey = text(input.taskKey);
    const task = taskKey ? await getTask(taskKey, { db: deps.db, config }) : undefined;
    return {
      scheduleName: name,
      taskKey,
      dueAt:
        text(input.dueAt) ??
        atTime(schedule.ScheduleExpression, schedule.ScheduleExpressionTimezone),
      expression: schedule.ScheduleExpression ?? null,
      state: schedule.State ?? null,
      target: schedule.Target?.Arn ?? null,
      correlationId: text(input.correlationId),
      taskStatus: task?.status ?? null,
    };
  });
  const found = schedules.filter((s): s is TaskSchedule => s !== undefined);
  found.sort((a, b) => (a.dueAt ?? "").localeCompare(b.dueAt ?? ""));
  return { scheduleGroup: config.scheduleGroup, schedules: found, truncated };
}

/** When a recurring job runs next, as AWS evaluates its schedule. */
export function nextRunOf(
  schedule: Pick<
    GetScheduleCommandOutput,
    "ScheduleExpression" | "State" | "StartDate" | "EndDate" | "CreationDate"
  >,
  timeZone: string,
  now: Date,
): { nextRun: string | null; noNextRun?: string } {
  if (schedule.State === "DISABLED") return { nextRun: null, noNextRun: "disabled" };
  if (!schedule.ScheduleExpression) return { nextRun: null, noNextRun: "no expression" };
  const expression = parseRecurringExpression(schedule.ScheduleExpression);
  const anchor = schedule.StartDate ?? schedule.CreationDate;
  // Not before its start: the first run is the first occurrence at or after it.
  const after =
    schedule.StartDate && schedule.StartDate.getTime() > now.getTime()
      ? new Date(schedule.StartDate.getTime() - 1)
      : now;
  const next = nextOccurrenceAfter(expression, after, {
    timeZone,
    ...(anchor ? { anchor } : {}),
  });
  if (!next) return { nextRun: null, noNextRun: "none within 400 days" };
  if (schedule.EndDate && next.getTime() > schedule.EndDate.getTime()) {
    return { nextRun: null, noNextRun: `ended ${schedule.EndDate.toISOString()}` };
  }
  return { nextRun: next.toISOString() };
}

/** Each recurring job's schedule as the Scheduler has it, its next run and its last recorded run. */
export async function listJobSchedules(
  deps: { readonly scheduler: SchedulerClient; readonly db: DynamoDBDocumentClient },
  jobs: readonly JobDefinition[],
  now: Date,
): Promise<JobSchedule[]> {
  return mapLimited(jobs, 5, async (job): Promise<JobSchedule> => {
    const [schedule, runs] = await Promise.all([
      deps.scheduler
        .send(new GetScheduleCommand({ Name: job.scheduleName, GroupName: job.scheduleGroup }))
        .catch((error: unknown) => {
          if (error instanceof ResourceNotFoundException) return undefined;
          throw error;
        }),
      listRuns(deps.db, job.runsTable, job.name, { limit: 1 }),
    ]);
    const lastRun = runs[0]
      ? { scheduledTime: runs[0].scheduledTime, status: runs[0].status }
      : null;
    const base = {
      job: job.name,
      scheduleName: job.scheduleName,
      scheduleGroup: job.scheduleGroup,
      lastRun,
    };
    if (!schedule) {
      return {
        ...base,
        expression: null,
        timeZone: job.timeZone,
        state: null,
        nextRun: null,
        noNextRun: "schedule not found",
        target: null,
      };
    }
    // The job's time zone is what its run keys use; the schedule's own should be the same.
    const timeZone = schedule.ScheduleExpressionTimezone ?? job.timeZone;
    return {
      ...base,
      expression: schedule.ScheduleExpression ?? null,
      timeZone,
      state: schedule.State ?? null,
      ...nextRunOf(schedule, timeZone, now),
      target: schedule.Target?.Arn ?? null,
    };
  });
}
