import { Logger } from "@aws-lambda-powertools/logger";
import { JOBS_TABLE_ENV } from "../../lib/spool/job-table/contract.js";
import { documentClient, dynamoClient } from "../../lib/spool/runtime/clients.js";
import { requireEnv } from "../../lib/spool/runtime/env.js";
import { faultInjectorFromEnv } from "../../lib/spool/runtime/faults.js";
import { waitForApproval } from "../../lib/spool/saga-workflow/runtime/callback.js";
import { createSagaStepHandler } from "../../lib/spool/saga-workflow/runtime/saga-step.js";
import { effectsTable, SET_BY_STACK } from "../env.js";
import { type ApprovalDeps, ApprovalRequest, finish, releaseSlot, reserveSlot } from "./steps.js";

const faults = faultInjectorFromEnv();
const db = documentClient(dynamoClient(faults));
const deps: ApprovalDeps = { db, table: effectsTable() };
const jobs = { db, table: requireEnv(JOBS_TABLE_ENV, SET_BY_STACK) };

/** Every step of the approval saga: the callback step parks its token on the job. */
export const handler = createSagaStepHandler(
  {
    schema: ApprovalRequest,
    actions: {
      reserveSlot: (request, ctx) => reserveSlot(request, ctx, deps),
      approval: waitForApproval(jobs, (request) => `approve request ${request.requestId}?`),
      finish: (request, ctx) => finish(request, ctx, deps),
    },
    compensations: {
      reserveSlot: (request, ctx) => releaseSlot(request, ctx, deps),
    },
  },
  { faults, logger: new Logger() },
);
