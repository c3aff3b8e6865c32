import { Logger } from "@aws-lambda-powertools/logger";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { EventBridgeEvent } from "aws-lambda";
import { JOBS_TABLE_ENV } from "../../job-table/contract.js";
import { documentClient, dynamoClient } from "../../runtime/clients.js";
import { requireEnv } from "../../runtime/env.js";
import { type ExecutionStatusChange, type SyncResult, syncJob } from "./status-sync.js";

const logger = new Logger();
const deps = {
  jobs: {
    db: documentClient(dynamoClient()),
    table: requireEnv(JOBS_TABLE_ENV, "the SagaWorkflow construct"),
  },
  sfn: new SFNClient({}),
};

/** EventBridge target for "Step Functions Execution Status Change" events of one state machine. */
export async function handler(
  event: EventBridgeEvent<"Step Functions Execution Status Change", ExecutionStatusChange>,
): Promise<SyncResult> {
  const result = await syncJob(event.detail, deps);
  logger.info("execution status change", {
    executionArn: event.detail.executionArn,
    status: event.detail.status,
    result,
  });
  return result;
}
