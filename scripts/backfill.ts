/**
 * Missed runs of a recurring job: backfill a past window, or list a job's run history.
 *
 *   npm run backfill -- --job nightly-reconciliation --from 2026-11-20T00:00:00Z --to 2026-11-23T00:00:00Z
 *   npm run backfill -- --job nightly-reconciliation --from ... --to ... --max-lateness 72h   # catch up old runs
 *   npm run backfill -- --job nightly-reconciliation --from ... --to ... --dry-run
 *   npm run backfill -- --job heartbeat --history [--limit 20]
 *
 * The job's definition (schedule, time zone, runs table, queue, max lateness) comes from the
 * stack's `RecurringJobs` output. With AWS_ENDPOINT_URL set it talks to that (local) emulator;
 * without it, to AWS with your default credentials.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Command, InvalidArgumentError } from "commander";
import {
  type BackfillReport,
  backfillRuns,
  type JobDefinition,
  listRuns,
  scheduleAnchor,
} from "../lambdas/runtime/recurring-jobs.js";
import { parseRecurringExpression } from "../lambdas/runtime/schedule-expression.js";
import { localClientConfig, STACK_NAME } from "./lib/local-cloud.js";
import { table } from "./lib/narrate.js";

function clientConfig() {
  return process.env.AWS_ENDPOINT_URL ? localClientConfig() : {};
}

export async function jobDefinitions(
  stackName = STACK_NAME,
): Promise<Record<string, JobDefinition>> {
  const cfn = new CloudFormationClient(clientConfig());
  const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const raw = Stacks[0]?.Outputs?.find((o) => o.OutputKey === "RecurringJobs")?.OutputValue;
  if (!raw) throw new Error(`stack ${stackName} has no RecurringJobs output`);
  return JSON.parse(raw) as Record<string, JobDefinition>;
}

function date(value: string): Date {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new InvalidArgumentError(`not a date: ${value}`);
  return parsed;
}

/** "90m", "72h", "3d" or plain seconds. */
export function durationSeconds(value: string): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`not a duration (like 90m, 72h, 3d): ${value}`);
  const unit = { s: 1, m: 60, h: 3_600, d: 86_400 }[(match[2] ?? "s") as "s"];
  return Number(match[1]) * unit;
}

export function formatBackfill(report: BackfillReport, dryRun: boolean): string {
  const status = new Map<string, string>();
  for (const t of report.enqueued) status.set(t, dryRun ? "would enqueue" : "enqueued");
  for (const t of report.requeued) status.set(t, "re-sent (was QUEUED)");
  for (const t of report.skippedTooLate)
    status.set(t, dryRun ? "would skip: too late" : "SKIPPED: too late");
  for (const r of report.alreadyRecorded) status.set(r.scheduledTime, `already ${r.status}`);
  return [
    `${report.job}: ${report.expected.length} run(s) from ${report.from} to ${report.to}; ` +
      `${report.enqueued.length} new, ${report.requeued.length} re-sent, ` +
      `${report.alreadyRecorded.length} already recorded, ${report.skippedTooLate.length} too late`,
    table(
      ["scheduled time", "outcome"],
      report.expected.map((t) => [t, status.get(t) ?? "?"]),
    ),
  ].join("\n");
}

async function main() {
  const program = new Command("backfill")
    .requiredOption("--job <name>", "the recurring job")
    .option("--from <time>", "window start (inclusive), ISO 8601", date)
    .option("--to <time>", "window end (exclusive), ISO 8601", date)
    .option(
      "--max-lateness <duration>",
      "run even runs older than the job's max lateness",
      durationSeconds,
    )
    .option("--dry-run", "report only; record and send nothing")
    .option("--history", "list the job's runs instead of backfilling")
    .option("--limit <n>", "with --history: how many runs", (v) => Number(v), 20)
    .option("--stack <name>", "the stack whose RecurringJobs output to read", STACK_NAME)
    .parse();
  const options = program.opts<{
    job: string;
    from?: Date;
    to?: Date;
    maxLateness?: number;
    dryRun?: boolean;
    history?: boolean;
    limit: number;
    stack: string;
  }>();
  const jobs = await jobDefinitions(options.stack);
  const job = jobs[options.job];
  if (!job) {
    throw new Error(`no job ${options.job}; the stack has ${Object.keys(jobs).join(", ")}`);
  }
  const config = clientConfig();
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(config));
  if (options.history) {
    const runs = await listRuns(db, job.runsTable, job.name, {
      ...(options.from ? { from: options.from } : {}),
      ...(options.to ? { to: options.to } : {}),
      limit: options.limit,
    });
    console.log(
      table(
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
            : (r.error?.code ?? ""),
        ]),
      ),
    );
    return;
  }
  if (!options.from || !options.to) throw new Error("a backfill needs --from and --to");
  const anchor =
    parseRecurringExpression(job.schedule).kind === "rate"
      ? await scheduleAnchor(new SchedulerClient(config), job)
      : undefined;
  const report = await backfillRuns(
    {
      job,
      from: options.from,
      to: options.to,
      ...(options.maxLateness ? { maxLatenessSeconds: options.maxLateness } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
    },
    {
      db,
      sqs: new SQSClient({ ...config, useQueueUrlAsEndpoint: false }),
      now: () => new Date(),
      ...(anchor ? { anchor } : {}),
    },
  );
  console.log(formatBackfill(report, options.dryRun ?? false));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`backfill: ${(error as Error).message}`);
    process.exit(1);
  });
}
