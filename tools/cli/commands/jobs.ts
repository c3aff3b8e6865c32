import { type Command, InvalidArgumentError } from "commander";
import {
  isJobStatus,
  JOB_STATUSES,
  type JobStatus,
  jobIdFor,
} from "../../../lib/spool/job-table/job-states.js";
import type { JobReport } from "../../../lib/spool/saga-workflow/runtime/job-report.js";
import { SpoolCliError } from "../lib/errors.js";
import { formatSeconds, renderTable, truncate } from "../lib/format.js";
import type { JobAnswerOutcome } from "../lib/job-answer.js";
import type { JobCancelOutcome } from "../lib/job-cancel.js";
import type { JobListing } from "../lib/jobs.js";
import { positiveInt } from "../lib/options.js";
import { requireOutput, type StackInventory } from "../lib/stack.js";
import type { CliContext, SpoolCommand } from "../spool.js";

const JOBS_TABLE_OUTPUT = "JobsTableName";

function jobsTable(inventory: StackInventory, override: string | undefined): string {
  return override ?? requireOutput(inventory, JOBS_TABLE_OUTPUT, "the job table");
}

function millisBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The outcome a saga step returned ("ok", "rejected PAYMENT_DECLINED"), when it returned one. */
function stepOutcome(result: string | undefined): string {
  if (!result) return "";
  try {
    const parsed = JSON.parse(result) as Record<string, unknown> | null;
    if (parsed && typeof parsed.outcome === "string") {
      return `${parsed.outcome}${typeof parsed.code === "string" ? ` ${parsed.code}` : ""}`;
    }
  } catch {
    // cut short or not JSON: nothing to show
  }
  return "";
}

export function renderJobReport(report: JobReport): string {
  const { job, execution } = report;
  if (!job) return `No job ${report.jobId}.`;
  const line = (k: string, v: unknown) => `${`${k}:`.padEnd(16)}${v ?? "-"}`;
  const took = millisBetween(job.startedAt ?? job.createdAt, job.finishedAt);
  const error = job.lastError;
  const lines = [
    `Job ${job.jobId}: ${job.status}`,
    "",
    line("kind", job.kind),
    line("business key", job.businessKey),
    line("created", job.createdAt),
    line("started", job.startedAt),
    line(
      "finished",
      job.finishedAt
        ? `${job.finishedAt}${took !== undefined ? ` (${formatSeconds(took / 1000)} after it started)` : ""}`
        : undefined,
    ),
    line("updated", job.updatedAt),
    line(
      "progress",
      job.progress
        ? `${job.progress.done}/${job.progress.total}${job.progress.note ? ` (${truncate(job.progress.note, 60)})` : ""} at ${job.progress.at}`
        : undefined,
    ),
    line(
      "waiting",
      job.waiting && job.status === "RUNNING"
        ? `${job.waiting.step} since ${job.waiting.since}${job.waiting.question ? ` (${truncate(job.waiting.question, 60)})` : ""}: spool jobs approve|reject ${job.jobId}`
        : undefined,
    ),
    line("attempts", job.attempts ?? 0),
    line(
      "last error",
      error
        ? `${error.error}${error.step ? ` at ${error.step}` : ""}${error.kind ? ` (${error.kind})` : ""}: ${truncate(error.cause, 100)}`
        : undefined,
    ),
    line("correlation id", job.correlationId),
    line("message id", job.messageId),
    line(
      "execution",
      job.executionArn
        ? `${job.executionArn}${execution ? ` (${execution.status}${execution.error ? `: ${execution.error}` : ""})` : ""}`
        : undefined,
    ),
  ];
  if (report.executionError) {
    lines.push(line("", `execution not readable: ${report.executionError}`));
  }

  const start = Date.parse(report.timeline[0]?.at ?? "");
  lines.push(
    "",
    "Timeline:",
    renderTable(
      ["at", "+ms", "by", "event", "detail"],
      report.timeline.map((e) => [
        e.at,
        Number.isFinite(start) ? String(Date.parse(e.at) - start) : "",
        e.source,
        e.event,
        truncate(e.detail ?? "", 70),
      ]),
    ),
  );

  if (execution) {
    const tasks = execution.states.filter((s) => s.type === "Task");
    lines.push(
      "",
      `Steps of execution ${execution.name ?? execution.executionArn} (${execution.status}):`,
      renderTable(
        ["step", "entered", "took", "outcome", "failed attempts", "last failure"],
        tasks.map((s) => {
          const ms = millisBetween(s.enteredAt, s.exitedAt);
          const failure = s.failures.at(-1);
          return [
            s.name,
            s.enteredAt,
            s.exitedAt ? formatSeconds((ms ?? 0) / 1000) : "did not finish",
            stepOutcome(s.result),
            s.failures.length || "",
            failure ? truncate(`${failure.error}: ${failure.cause}`, 50) : "",
          ];
        }),
      ),
    );
    if (execution.stopDate) {
      lines.push(
        `ended ${execution.stopDate}: ${execution.status}${execution.error ? ` ${execution.error}` : ""}${execution.cause ? ` (${truncate(execution.cause, 100)})` : ""}`,
      );
    }
  }
  return lines.join("\n");
}

export function renderJobList(listing: JobListing, table: string): string {
  const note = listing.truncated
    ? `read ${listing.examined} items of ${table} and stopped: more jobs may match (raise --scan-limit or --limit).`
    : `read all ${listing.examined} items of ${table}.`;
  if (listing.jobs.length === 0) return `No matching jobs (${note})`;
  return [
    renderTable(
      ["job id", "status", "updated", "attempts", "last error"],
      listing.jobs.map((j) => [
        j.jobId,
        j.status,
        j.updatedAt,
        j.attempts ?? 0,
        j.lastError
          ? truncate(`${j.lastError.error}${j.lastError.step ? ` at ${j.lastError.step}` : ""}`, 50)
          : "",
      ]),
    ),
    "",
    `${listing.jobs.length} job(s), newest first among those read; ${note}`,
    "Details: spool jobs show <job id>.",
  ].join("\n");
}

async function show(
  context: CliContext,
  id: string,
  options: { kind?: string; table?: string },
): Promise<void> {
  // What runs a command is loaded as it runs, not as it is declared (tools/cli/README.md).
  const { describeJob } = await import("../../../lib/spool/saga-workflow/runtime/job-report.js");
  const inventory = await context.inventory();
  const table = jobsTable(inventory, options.table);
  const jobId = options.kind ? jobIdFor(options.kind, id) : id;
  const clients = context.clients();
  const report = await describeJob(
    { jobs: { db: clients.dynamo, table }, sfn: clients.sfn },
    jobId,
  );
  if (!report.job) {
    throw new SpoolCliError(
      options.kind || id.includes(":")
        ? `no job ${jobId} in ${table}`
        : `no job ${jobId} in ${table}: a job id is <kind>:<business key> (e.g. order-fulfilment:${id}), or pass --kind <kind> with the business key`,
    );
  }
  context.emit({ text: renderJobReport(report), json: report });
}

export function renderJobCancel(o: JobCancelOutcome): string {
  const lines = [`Canceled job ${o.jobId} (was ${o.before}): ${o.reason}.`];
  if (o.execution?.stopped) {
    lines.push(
      `Stopped its execution ${o.execution.executionArn}: a stop runs no compensation, so its completed steps' effects stay.`,
    );
  } else if (o.execution) {
    lines.push(
      `Could not stop its execution ${o.execution.executionArn} (${o.execution.error}): it runs on, and its final job write will be refused.`,
    );
  } else if (o.before === "RUNNING") {
    lines.push("A queue step stops at its next cancelled() check; the record is acknowledged.");
  } else {
    lines.push("Its message is dropped when it arrives.");
  }
  lines.push(`Recorded as cancel ${o.cancelId}.`);
  return lines.join("\n");
}

function jobIdArg(value: string): string {
  const trimmed = value.trim();
  if (!trimmed) throw new InvalidArgumentError("<id> must not be empty");
  return trimmed;
}

function reasonArg(value: string): string {
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > 500) {
    throw new InvalidArgumentError(
      `--reason must be 1 to 500 characters, got ${trimmed ? `${trimmed.length}` : "an empty one"}`,
    );
  }
  return trimmed;
}

async function cancel(
  context: CliContext,
  id: string,
  options: { kind?: string; reason: string; table?: string; auditTable?: string },
): Promise<void> {
  if (!options.kind && !id.includes(":")) {
    // A usage error (exit 2), before anything is read: a cancel must name exactly one job.
    throw new SpoolCliError(
      `a job id is <kind>:<business key> (e.g. chunked-job:${id}), or pass --kind <kind> with the business key, got "${id}"`,
      2,
    );
  }
  const { auditTableName, whoAmI } = await import("../lib/audit.js");
  const { DynamoJobCancelAudit } = await import("../lib/change-audits.js");
  const { cancelJobAudited } = await import("../lib/job-cancel.js");
  const inventory = await context.inventory();
  const table = jobsTable(inventory, options.table);
  const clients = context.clients();
  const outcome = await cancelJobAudited(
    options.kind ? jobIdFor(options.kind, id) : id,
    options.reason,
    {
      jobs: { db: clients.dynamo, table },
      sfn: clients.sfn,
      audit: new DynamoJobCancelAudit(
        clients.dynamo,
        auditTableName(inventory, options.auditTable),
      ),
      operator: await whoAmI(clients),
      stack: inventory.stackName,
    },
  );
  context.emit({ text: renderJobCancel(outcome), json: outcome });
}

export function renderJobAnswer(o: JobAnswerOutcome): string {
  return [
    o.answer === "approve"
      ? `Approved step ${o.step} of job ${o.jobId}: the saga goes on.`
      : `Rejected step ${o.step} of job ${o.jobId}${o.reason ? ` (${o.reason})` : ""}: the saga compensates its completed steps.`,
    `Recorded as answer ${o.answerId}; follow it with spool jobs show ${o.jobId}.`,
  ].join("\n");
}

async function answer(
  context: CliContext,
  id: string,
  approve: boolean,
  options: { kind?: string; reason?: string; table?: string; auditTable?: string },
): Promise<void> {
  if (!options.kind && !id.includes(":")) {
    // A usage error (exit 2), before anything is read: an answer must name exactly one job.
    throw new SpoolCliError(
      `a job id is <kind>:<business key> (e.g. approval:${id}), or pass --kind <kind> with the business key, got "${id}"`,
      2,
    );
  }
  const { auditTableName, whoAmI } = await import("../lib/audit.js");
  const { DynamoJobAnswerAudit } = await import("../lib/change-audits.js");
  const { answerJobAudited } = await import("../lib/job-answer.js");
  const inventory = await context.inventory();
  const table = jobsTable(inventory, options.table);
  const clients = context.clients();
  const outcome = await answerJobAudited(
    options.kind ? jobIdFor(options.kind, id) : id,
    { approve, ...(options.reason ? { reason: options.reason } : {}) },
    {
      jobs: { db: clients.dynamo, table },
      sfn: clients.sfn,
      audit: new DynamoJobAnswerAudit(
        clients.dynamo,
        auditTableName(inventory, options.auditTable),
      ),
      operator: await whoAmI(clients),
      stack: inventory.stackName,
    },
  );
  context.emit({ text: renderJobAnswer(outcome), json: outcome });
}

function status(value: string, previous: JobStatus[] = []): JobStatus[] {
  const upper = value.toUpperCase();
  if (!isJobStatus(upper)) {
    throw new InvalidArgumentError(
      `--status must be one of ${JOB_STATUSES.join(", ")}, got "${value}"`,
    );
  }
  return [...previous, upper];
}

async function list(
  context: CliContext,
  options: {
    status?: JobStatus[];
    kind?: string;
    limit: number;
    scanLimit: number;
    table?: string;
  },
): Promise<void> {
  const { listJobs } = await import("../lib/jobs.js");
  const inventory = await context.inventory();
  const table = jobsTable(inventory, options.table);
  const listing = await listJobs(context.clients().dynamo, {
    table,
    ...(options.status ? { statuses: options.status } : {}),
    ...(options.kind ? { kind: options.kind } : {}),
    limit: options.limit,
    scanLimit: options.scanLimit,
    signal: context.signal,
  });
  context.emit({ text: renderJobList(listing, table), json: listing });
}

export const jobsCommand: SpoolCommand = {
  register(program: Command, context: CliContext) {
    const jobs = program
      .command("jobs")
      .description(
        "jobs (one per unit of work, e.g. an order's fulfilment): what happened to each",
      );

    jobs
      .command("show")
      .description(
        "what happened to a job: status, timestamps, attempts, last error, transitions, its execution's steps",
      )
      .argument("<id>", "the job id (order-fulfilment:o-42), or a business key with --kind")
      .option("--kind <kind>", "the job kind, when <id> is a business key (order-fulfilment)")
      .option("--table <table>", `the job table (default: the stack's ${JOBS_TABLE_OUTPUT})`)
      .action((id: string, options: { kind?: string; table?: string }) =>
        show(context, id, options),
      );

    jobs
      .command("cancel")
      .description(
        "cancel a job that has not finished: CANCELED, its workflow execution stopped (no compensation), its queue step stopped at its next check; audited",
      )
      .argument("<id>", "the job id (chunked-job:j-7), or a business key with --kind", jobIdArg)
      .option("--kind <kind>", "the job kind, when <id> is a business key")
      .option(
        "--reason <text>",
        "why, recorded on the job and in the audit",
        reasonArg,
        "canceled by an operator",
      )
      .option("--table <table>", `the job table (default: the stack's ${JOBS_TABLE_OUTPUT})`)
      .option(
        "--audit-table <table>",
        "the audit table (default: the stack's OperatorAuditTableName)",
      )
      .action(
        (
          id: string,
          options: { kind?: string; reason: string; table?: string; auditTable?: string },
        ) => cancel(context, id, options),
      );

    for (const approve of [true, false]) {
      const name = approve ? "approve" : "reject";
      const command = jobs
        .command(name)
        .description(
          approve
            ? "approve the workflow step a job waits in (a callback step): the saga goes on; audited"
            : "reject the workflow step a job waits in: the saga compensates its completed steps; audited",
        )
        .argument("<id>", "the job id (approval:r-7), or a business key with --kind", jobIdArg)
        .option("--kind <kind>", "the job kind, when <id> is a business key");
      if (approve) {
        command.option(
          "--reason <text>",
          "why, recorded in the audit and the step's result",
          reasonArg,
        );
      } else {
        command.requiredOption(
          "--reason <text>",
          "why, recorded in the audit and the failure",
          reasonArg,
        );
      }
      command
        .option("--table <table>", `the job table (default: the stack's ${JOBS_TABLE_OUTPUT})`)
        .option(
          "--audit-table <table>",
          "the audit table (default: the stack's OperatorAuditTableName)",
        )
        .action(
          (
            id: string,
            options: { kind?: string; reason?: string; table?: string; auditTable?: string },
          ) => answer(context, id, approve, options),
        );
    }

    jobs
      .command("list")
      .description("jobs by status or kind, from a bounded read of the job table")
      .option(
        "--status <status>",
        `only jobs in this status (repeatable): ${JOB_STATUSES.join(", ")}`,
        status,
      )
      .option("--kind <kind>", "only jobs of this kind")
      .option("--limit <n>", "show at most n", positiveInt("--limit", 1_000), 20)
      .option(
        "--scan-limit <n>",
        "read at most n items of the table (a Scan: its cost grows with n)",
        positiveInt("--scan-limit", 1_000_000),
        1_000,
      )
      .option("--table <table>", `the job table (default: the stack's ${JOBS_TABLE_OUTPUT})`)
      .action(
        (options: {
          status?: JobStatus[];
          kind?: string;
          limit: number;
          scanLimit: number;
          table?: string;
        }) => list(context, options),
      );
  },
};
