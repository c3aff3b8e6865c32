import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Errors, type IChainable, JitterType, JsonPath } from "aws-cdk-lib/aws-stepfunctions";
import { DynamoAttributeValue, DynamoUpdateItem } from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";
import {
  JOB_KEY_ATTRIBUTE,
  type JobField,
  type JobStatus,
  jobUpdate,
} from "../job-table/job-states.js";
import type { SagaRetry } from "./saga-workflow-props.js";

const CONDITION_FAILED = "DynamoDB.ConditionalCheckFailedException";

export interface RecordJobOptions {
  /** The job table (partition key `jobId`). */
  readonly table: ITable;
  /** How the write retries when DynamoDB fails: the workflow's step retry. */
  readonly retry: Required<SagaRetry>;
  /** Where the execution goes when the transition is refused. */
  readonly onConflict: IChainable;
  /** Where in the state the error to record as `lastError` is. */
  readonly errorPath?: string;
  /** Go to onConflict on any error, not only a refused transition (compensation paths). */
  readonly anyError?: boolean;
}

/**
 * A DynamoDB task moving the job to `to` under the shared transition rules
 * (lib/spool/job-table/job-states.ts): the condition refuses an illegal move, and then the
 * execution goes to `onConflict` instead.
 */
export function recordJobTask(
  scope: Construct,
  id: string,
  to: JobStatus,
  options: RecordJobOptions,
): DynamoUpdateItem {
  const set: JobField[] = ["executionArn", ...(options.errorPath ? ["lastError" as const] : [])];
  const update = jobUpdate({
    to,
    set,
    setIfAbsent: to === "RUNNING" ? ["correlationId"] : [],
    countAttempt: to === "RUNNING",
  });
  const now = DynamoAttributeValue.fromString(JsonPath.stringAt("$$.State.EnteredTime"));
  const executionArn = DynamoAttributeValue.fromString(JsonPath.stringAt("$$.Execution.Id"));
  const values: Record<string, DynamoAttributeValue> = {
    ":at": now,
    ":entry": DynamoAttributeValue.fromList([
      DynamoAttributeValue.fromMap({
        status: DynamoAttributeValue.fromString(to),
        at: now,
        by: DynamoAttributeValue.fromString("workflow"),
        ref: executionArn,
      }),
    ]),
    ":empty": DynamoAttributeValue.fromList([]),
    ":executionArn": executionArn,
  };
  for (const [placeholder, status] of Object.entries(update.values)) {
    values[placeholder] = DynamoAttributeValue.fromString(status);
  }
  if (to === "RUNNING") {
    values[":one"] = DynamoAttributeValue.fromNumber(1);
    values[":correlationId"] = DynamoAttributeValue.fromString(
      JsonPath.stringAt("$.correlationId"),
    );
  }
  if (options.errorPath) {
    const field = (name: string) =>
      DynamoAttributeValue.fromString(JsonPath.stringAt(`${options.errorPath}.${name}`));
    values[":lastError"] = DynamoAttributeValue.fromMap({
      error: field("error"),
      cause: field("cause"),
      step: field("step"),
      kind: field("kind"),
      at: now,
    });
  }
  const task = new DynamoUpdateItem(scope, id, {
    stateName: `Record ${to}`,
    table: options.table,
    key: { [JOB_KEY_ATTRIBUTE]: DynamoAttributeValue.fromString(JsonPath.stringAt("$.jobId")) },
    updateExpression: update.updateExpression,
    conditionExpression: update.conditionExpression,
    expressionAttributeNames: update.names,
    expressionAttributeValues: values,
    resultPath: JsonPath.DISCARD,
  });
  task.addRetry({ errors: [CONDITION_FAILED], maxAttempts: 0 });
  task.addRetry({
    errors: [Errors.TASKS_FAILED],
    interval: options.retry.interval,
    backoffRate: options.retry.backoffRate,
    maxAttempts: options.retry.maxAttempts,
    maxDelay: options.retry.maxDelay,
    jitterStrategy: JitterType.FULL,
  });
  task.addCatch(options.onConflict, {
    errors: options.anyError ? [Errors.ALL] : [CONDITION_FAILED],
    resultPath: "$.jobConflict",
  });
  return task;
}
