import * as z from "zod";
import { jsonEnv } from "../../runtime/env.js";
import { JOB_NAME_PATTERN, JOBS_ENV, type JobDefinition, RUN_MESSAGE_KIND } from "../contract.js";

/** What the Scheduler puts where it does not substitute its context attributes. */
export const SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>";

/** Who asked for a run: its schedule, a backfill, or someone by hand. */
export type RunSource = "schedule" | "backfill" | "manual";

const Parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** The message a recurring job's queue receives (from its schedule, a backfill or by hand). */
export const RunMessage = z.object({
  kind: z.literal(RUN_MESSAGE_KIND),
  schemaVersion: z.literal(1),
  job: z.string().regex(JOB_NAME_PATTERN, "job: 1–64 letters, digits, _ . -"),
  /** ISO 8601; the Scheduler's `<aws.scheduler.scheduled-time>`. */
  scheduledTime: z.string().min(1).max(64),
  source: z.enum(["schedule", "backfill", "manual"]),
  executionId: z.string().max(256).optional(),
  /** Overrides the job's max lateness for this run (a backfill an operator asked for). */
  maxLatenessSeconds: z.number().int().positive().optional(),
  parameters: Parameters.optional(),
  correlationId: z.string().max(128).optional(),
});
export type RunMessage = z.infer<typeof RunMessage>;

/** The definitions of the jobs a worker serves, as `RecurringJob.bindWorker` wrote them. */
export function jobDefinitionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, JobDefinition> {
  return jsonEnv<Record<string, JobDefinition>>(JOBS_ENV, "RecurringJob.bindWorker", env);
}
