import type { SFNClient } from "@aws-sdk/client-sfn";
import { getJob, type JobRecord, type JobStore } from "../../job-table/runtime/jobs.js";
import { withoutTaskToken } from "../../job-table/runtime/waiting.js";
import { type ExecutionSummary, type StateVisit, summarizeExecution } from "./executions.js";

/**
 * "What happened to order X?": a job, its transitions, and (for a workflow job) what its
 * execution did step by step, merged into one timeline. The job-query Lambda serves it; the
 * operator CLI can call the same function.
 */

export interface TimelineEntry {
  readonly at: string;
  /** job: a recorded transition; workflow: a task or the end of the execution. */
  readonly source: "job" | "workflow";
  readonly event: string;
  readonly detail?: string;
}

export interface JobReport {
  readonly jobId: string;
  readonly job: JobRecord | undefined;
  readonly execution: ExecutionSummary | undefined;
  /** Why the execution could not be read, when the job names one. */
  readonly executionError?: string;
  readonly timeline: TimelineEntry[];
}

export interface JobReportDeps {
  readonly jobs: JobStore;
  /** Without it, execution details are left out. */
  readonly sfn?: SFNClient;
}

function outcomeOf(visit: StateVisit): string | undefined {
  if (!visit.result) return undefined;
  try {
    const result = JSON.parse(visit.result) as Record<string, unknown> | null;
    if (result && typeof result.outcome === "string") {
      const why = typeof result.code === "string" ? ` ${result.code}` : "";
      return `${result.outcome}${why}`;
    }
  } catch {
    // a result cut short, or not JSON: no outcome to show
  }
  return undefined;
}

function workflowEntries(execution: ExecutionSummary): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const visit of execution.states) {
    if (visit.type === "Task") {
      const retries = visit.failures.length;
      const outcome = outcomeOf(visit);
      // Tasks with no business outcome (the job writes) show only when something went wrong.
      if (!outcome && !retries && visit.exitedAt) continue;
      const parts = [
        outcome,
        retries ? `${retries} failed attempt${retries > 1 ? "s" : ""}` : undefined,
        visit.exitedAt ? undefined : "did not finish",
      ].filter(Boolean);
      entries.push({
        at: visit.enteredAt,
        source: "workflow",
        event: visit.name,
        ...(parts.length ? { detail: parts.join("; ") } : {}),
      });
    }
  }
  if (execution.stopDate) {
    entries.push({
      at: execution.stopDate,
      source: "workflow",
      event: `execution ${execution.status}`,
      ...(execution.error ? { detail: execution.error } : {}),
    });
  }
  return entries;
}

export async function describeJob(deps: JobReportDeps, jobId: string): Promise<JobReport> {
  const job = await getJob(deps.jobs, jobId);
  let execution: ExecutionSummary | undefined;
  let executionError: string | undefined;
  if (job?.executionArn && deps.sfn) {
    try {
      execution = await summarizeExecution(deps.sfn, job.executionArn);
    } catch (error) {
      executionError = `${(error as Error).name}: ${(error as Error).message}`;
    }
  }
  const timeline: TimelineEntry[] = (job?.transitions ?? []).map((t) => ({
    at: t.at,
    source: "job",
    event: t.status,
    detail: [t.by, t.note].filter(Boolean).join(": "),
  }));
  if (execution) timeline.push(...workflowEntries(execution));
  // Stable: entries with one timestamp keep their order (job first, then workflow).
  timeline.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return {
    jobId,
    // A waiting step's token completes it: a report shows that the job waits, never the token.
    job: withoutTaskToken(job),
    execution,
    ...(executionError ? { executionError } : {}),
    timeline,
  };
}
