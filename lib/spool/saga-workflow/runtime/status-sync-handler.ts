import { Logger } from "@aws-lambda-powertools/logger";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { EventBridgeEvent } from "aws-lambda";
import { documentClient, dynamoClient } from "../../runtime/clients.js";
import { type ExecutionStatusChange, type SyncResult, syncJob } from "./status-sync.js";

const logger = new Logger();
const deps = {
  jobs: { db: documentClient(dynamoClient()), table: process.env.JOBS_TABLE ?? "" },
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
