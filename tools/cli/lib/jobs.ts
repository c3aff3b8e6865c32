import { type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { JobStatus } from "../../../lib/spool/job-table/job-states.js";
import type { JobRecord } from "../../../lib/spool/job-table/runtime/jobs.js";

/** A job without its transition history: what a list shows. */
export type JobSummary = Omit<JobRecord, "transitions">;

export interface JobListing {
  /** Matching jobs among those read, most recently updated first. */
  readonly jobs: JobSummary[];
  /** Items the scan read (its cost is proportional to this, not to the matches). */
  readonly examined: number;
  /** The scan stopped before the end of the table: more jobs may match. */
  readonly truncated: boolean;
}

export interface JobListOptions {
  readonly table: string;
  readonly statuses?: readonly JobStatus[];
  readonly kind?: string;
  /** Stop once this many jobs match. */
  readonly limit: number;
  /** Never read more than this many items. */
  readonly scanLimit: number;
  readonly signal?: AbortSignal;
}

const PAGE = 200;
const SUMMARY_FIELDS = [
  "jobId",
  "kind",
  "businessKey",
  "status",
  "createdAt",
  "updatedAt",
  "startedAt",
  "finishedAt",
  "attempts",
  "lastError",
  "correlationId",
  "executionArn",
];

/**
 * Lists jobs by reading the job table with a bounded Scan. The table is keyed by job id only (no
 * index on status: one would take every transition's write twice and put each status in a hot
 * partition), so a list costs a read of at most `scanLimit` items and says when it stopped early.
 * Answering "what happened to order X" never needs it: that is one GetItem (`jobs show`).
 */
export async function listJobs(
  db: DynamoDBDocumentClient,
  options: JobListOptions,
): Promise<JobListing> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  if (options.statuses?.length) {
    names["#status"] = "status";
    const placeholders = options.statuses.map((status, i) => {
      values[`:s${i}`] = status;
      return `:s${i}`;
    });
    filters.push(`#status IN (${placeholders.join(", ")})`);
  }
  if (options.kind) {
    names["#kind"] = "kind";
    values[":kind"] = options.kind;
    filters.push("#kind = :kind");
  }
  const projection = SUMMARY_FIELDS.map((field) => {
    names[`#${field}`] = field;
    return `#${field}`;
  }).join(", ");

  const jobs: JobSummary[] = [];
  let examined = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: options.table,
        Limit: Math.min(PAGE, options.scanLimit - examined),
        ProjectionExpression: projection,
        ExpressionAttributeNames: names,
        ...(filters.length
          ? { FilterExpression: filters.join(" AND "), ExpressionAttributeValues: values }
          : {}),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    examined += page.ScannedCount ?? page.Items?.length ?? 0;
    jobs.push(...((page.Items ?? []) as JobSummary[]));
    startKey = page.LastEvaluatedKey;
  } while (
    startKey &&
    jobs.length < options.limit &&
    examined < options.scanLimit &&
    !options.signal?.aborted
  );
  jobs.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
  return { jobs: jobs.slice(0, options.limit), examined, truncated: startKey !== undefined };
}
