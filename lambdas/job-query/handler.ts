import { SFNClient } from "@aws-sdk/client-sfn";
import * as z from "zod";
import { JOBS_TABLE_ENV } from "../../lib/spool/job-table/contract.js";
import { jobIdFor } from "../../lib/spool/job-table/job-states.js";
import { documentClient, dynamoClient } from "../../lib/spool/runtime/clients.js";
import { requireEnv } from "../../lib/spool/runtime/env.js";
import { describeJob, type JobReport } from "../../lib/spool/saga-workflow/runtime/job-report.js";
import { SET_BY_STACK } from "../env.js";

const Query = z.union([
  z.object({ jobId: z.string().min(1).max(512) }),
  z.object({ kind: z.string().min(1).max(64), businessKey: z.string().min(1).max(256) }),
]);

const deps = {
  jobs: { db: documentClient(dynamoClient()), table: requireEnv(JOBS_TABLE_ENV, SET_BY_STACK) },
  sfn: new SFNClient({}),
};

/**
 * Answers "what happened to this job?": `{ "jobId": "order-fulfilment:o-42" }` or
 * `{ "kind": "order-fulfilment", "businessKey": "o-42" }` → the job, its transitions and its
 * execution's steps as one timeline.
 */
export async function handler(event: unknown): Promise<JobReport> {
  const query = Query.safeParse(event);
  if (!query.success) {
    throw new Error(
      `expected {"jobId": "..."} or {"kind": "...", "businessKey": "..."}, got ${JSON.stringify(event)?.slice(0, 200)}`,
    );
  }
  const q = query.data;
  const jobId = "jobId" in q ? q.jobId : jobIdFor(q.kind, q.businessKey);
  return describeJob(deps, jobId);
}
