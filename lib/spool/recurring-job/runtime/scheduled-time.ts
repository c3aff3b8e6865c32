import { GetScheduleCommand, type SchedulerClient } from "@aws-sdk/client-scheduler";
import { PermanentError } from "../../runtime/errors.js";
import type { JobDefinition } from "../contract.js";
import { latestOccurrenceAtOrBefore, parseRecurringExpression } from "../schedule-expression.js";
import { type RunMessage, SCHEDULED_TIME_PLACEHOLDER } from "./run-message.js";

/** rate() jobs: the schedule's first occurrence, for the sent-timestamp fallback. */
export type AnchorOf = (job: JobDefinition) => Promise<Date | undefined>;

/** The first occurrence of a rate() schedule: its start date, else its creation time. */
export async function scheduleAnchor(
  scheduler: SchedulerClient,
  job: JobDefinition,
): Promise<Date | undefined> {
  if (job.startDate) return new Date(job.startDate);
  const schedule = await scheduler.send(
    new GetScheduleCommand({ Name: job.scheduleName, GroupName: job.scheduleGroup }),
  );
  return schedule.StartDate ?? schedule.CreationDate;
}

/**
 * The run's scheduled time: the message's, or, when the Scheduler left its placeholder
 * unsubstituted (MiniStack does), the latest occurrence of the job's schedule at or before the
 * time the message was sent. The fallback is exact for cron schedules delivered less than one
 * period late, which is what a scheduler that fires on time produces.
 */
export async function resolveScheduledTime(
  message: Pick<RunMessage, "scheduledTime" | "job">,
  sentAt: Date,
  job: JobDefinition,
  deps: { readonly anchorOf: AnchorOf },
): Promise<{ time: Date; source: "payload" | "sent-timestamp" }> {
  if (message.scheduledTime !== SCHEDULED_TIME_PLACEHOLDER) {
    const time = new Date(message.scheduledTime);
    if (Number.isNaN(time.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(message.scheduledTime)) {
      throw new PermanentError(
        `scheduledTime must be an ISO 8601 time, got ${message.scheduledTime}`,
        { code: "RUN_TIME_INVALID", details: { job: message.job } },
      );
    }
    return { time, source: "payload" };
  }
  const expression = parseRecurringExpression(job.schedule);
  const anchor = expression.kind === "rate" ? await deps.anchorOf(job) : undefined;
  const time = latestOccurrenceAtOrBefore(expression, sentAt, {
    timeZone: job.timeZone,
    ...(anchor ? { anchor } : {}),
  });
  if (!time) {
    throw new PermanentError(
      `job ${job.name} has no occurrence of ${job.schedule} at or before ${sentAt.toISOString()}`,
      { code: "RUN_TIME_UNRESOLVED", details: { job: job.name } },
    );
  }
  return { time, source: "sent-timestamp" };
}
