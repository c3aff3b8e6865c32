import type { Command } from "commander";
import { MAX_BACKFILL_RUNS } from "../../../lib/spool/recurring-job/contract.js";
import type {
  BackfillReport,
  JobDefinition,
  JobRun,
} from "../../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { SpoolCliError } from "../lib/errors.js";
import { renderTable } from "../lib/format.js";
import { durationSeconds, isoTime, positiveInt } from "../lib/options.js";
import { Progress } from "../lib/progress.js";
import type { StackInventory } from "../lib/stack.js";
import type { CliContext, SpoolCommand } from "../spool.js";
import { jobDefinitions } from "./schedules.js";

function findJob(inventory: StackInventory, name: string): JobDefinition {
  const jobs = jobDefinitions(inventory);
  const job = jobs[name];
  if (!job) {
    throw new SpoolCliError(
      `no recurring job ${name} in stack ${inventory.stackName}; its jobs: ${Object.keys(jobs).join(", ") || "none"}`,
    );
  }
  return job;
}

export function renderBackfill(report: BackfillReport, dryRun: boolean): string {
  const outcome = new Map<string, string>();
  for (const t of report.enqueued) outcome.set(t, dryRun ? "would enqueue" : "enqueued");
  for (const t of report.requeued) outcome.set(t, "re-sent (was QUEUED, never sent)");
  for (const t of report.skippedTooLate) {
    outcome.set(t, dryRun ? "would record SKIPPED: too late" : "recorded SKIPPED: too late");
  }
  for (const r of report.alreadyRecorded) outcome.set(r.scheduledTime, `already ${r.status}`);
  const summary = dryRun
    ? `Dry run: ${report.job} has ${report.expected.length} run(s) from ${report.from} to ${report.to}; ${report.enqueued.length} would be enqueued, ${report.alreadyRecorded.length} already recorded, ${report.skippedTooLate.length} too late. Nothing was recorded or sent.`
    : `${report.job}: ${report.expected.length} run(s) from ${report.from} to ${report.to}; ${report.enqueued.length} enqueued, ${report.requeued.length} re-sent, ${report.alreadyRecorded.length} already recorded, ${report.skippedTooLate.length} too late.`;
  if (report.expected.length === 0) return `${summary}\n(The schedule has no run in that window.)`;
  return [
    summary,
    "",
    renderTable(
      ["scheduled time", "outcome"],
      report.expected.map((t) => [t, outcome.get(t) ?? "?"]),
    ),
    ...(dryRun ? [] : ["", `Follow them: spool runs ${report.job} --from ${report.from}`]),
  ].join("\n");
}

export function renderRuns(job: string, runs: readonly JobRun[]): string {
  if (runs.length === 0) return `No runs of ${job} recorded in that window.`;
  return renderTable(
    ["scheduled time", "status", "source", "attempts", "deliveries", "finished", "note"],
    runs.map((r) => [
      r.scheduledTime,
      r.status,
      r.source,
      r.attempts ?? 0,
      r.deliveries ?? 0,
      r.finishedAt ?? "",
      r.skipReason
        ? `${r.skipReason}${r.blockedBy ? ` (${r.blockedBy})` : ""}`
        : r.error
          ? `${r.error.code}: ${r.error.message}`.slice(0, 60)
          : r.duplicateDeliveries
            ? `${r.duplicateDeliveries} duplicate deliveries ignored`
            : "",
    ]),
  );
}

interface BackfillOptions {
  from: Date;
  to: Date;
  dryRun: boolean;
  maxLateness?: number;
}

async function backfill(context: CliContext, name: string, options: BackfillOptions) {
  if (!(options.from.getTime() < options.to.getTime())) {
    throw new SpoolCliError(
      `--from must be before --to, got ${options.from.toISOString()} .. ${options.to.toISOString()}`,
      2,
    );
  }
  if (options.to.getTime() > Date.now()) {
    throw new SpoolCliError(
      `a backfill covers past runs only: --to must not be in the future, got ${options.to.toISOString()}`,
      2,
    );
  }
  // What runs a command is loaded as it runs, not as it is declared (tools/cli/README.md).
  const { backfillRuns, scheduleAnchor } = await import(
    "../../../lib/spool/recurring-job/runtime/recurring-jobs.js"
  );
  const { parseRecurringExpression } = await import(
    "../../../lib/spool/recurring-job/schedule-expression.js"
  );
  const inventory = await context.inventory();
  const job = findJob(inventory, name);
  const clients = context.clients();
  const anchor =
    parseRecurringExpression(job.schedule).kind === "rate"
      ? await scheduleAnchor(clients.scheduler, job)
      : undefined;
  const progress = new Progress(context.io, options.dryRun ? "runs examined" : "runs recorded");
  let reported = 0;
  const report = await backfillRuns(
    {
      job,
      from: options.from,
      to: options.to,
      ...(options.maxLateness ? { maxLatenessSeconds: options.maxLateness } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
    },
    {
      db: clients.dynamo,
      sqs: clients.sqs,
      now: () => new Date(),
      ...(anchor ? { anchor } : {}),
      onProgress: ({ done, total }) => {
        progress.total = total;
        progress.tick(done - reported);
        reported = done;
      },
    },
  );
  progress.end();
  context.emit({ text: renderBackfill(report, options.dryRun), json: report });
}

async function runs(
  context: CliContext,
  name: string,
  options: { from?: Date; to?: Date; limit: number },
) {
  const { listRuns } = await import("../../../lib/spool/recurring-job/runtime/recurring-jobs.js");
  const inventory = await context.inventory();
  const job = findJob(inventory, name);
  const found = await listRuns(context.clients().dynamo, job.runsTable, job.name, {
    ...(options.from ? { from: options.from } : {}),
    ...(options.to ? { to: options.to } : {}),
    limit: options.limit,
  });
  context.emit({ text: renderRuns(job.name, found), json: found });
}

export const backfillCommand: SpoolCommand = {
  register(program: Command, context: CliContext) {
    program
      .command("backfill")
      .description(
        "enqueue the runs a recurring job missed in a past window, once each (by run key); --dry-run first",
      )
      .argument("<job>", "the recurring job (nightly-reconciliation)")
      .requiredOption("--from <time>", "window start, inclusive (ISO 8601)", isoTime("--from"))
      .requiredOption(
        "--to <time>",
        "window end, exclusive (ISO 8601, not in the future)",
        isoTime("--to"),
      )
      .option("--dry-run", "report what would be enqueued; record and send nothing", false)
      .option(
        "--max-lateness <duration>",
        "run even runs older than the job's max lateness, up to this (72h, 3d)",
        durationSeconds("--max-lateness"),
      )
      .addHelpText(
        "after",
        `\nAt most ${MAX_BACKFILL_RUNS} runs per backfill. A run already recorded (live, or by an earlier backfill) is not enqueued again, so a second backfill of a window adds nothing; a run still QUEUED is re-sent, and its run key keeps it to one execution.`,
      )
      .action((job: string, options: BackfillOptions) => backfill(context, job, options));

    program
      .command("runs")
      .description(
        "a recurring job's run history, newest first: status, source, attempts, deliveries",
      )
      .argument("<job>", "the recurring job")
      .option("--from <time>", "runs scheduled at or after this (ISO 8601)", isoTime("--from"))
      .option("--to <time>", "runs scheduled before this (ISO 8601)", isoTime("--to"))
      .option("--limit <n>", "show at most n", positiveInt("--limit", 10_000), 20)
      .action((job: string, options: { from?: Date; to?: Date; limit: number }) =>
        runs(context, job, options),
      );
  },
};
