import { fileURLToPath } from "node:url";
import { Duration, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import { JOBS_TABLE_ENV } from "../job-table/contract.js";
import { acknowledgeDeadLetterQueue, SpoolFunction } from "../spool-function/index.js";

const STATUS_SYNC_ENTRY = fileURLToPath(
  new URL("./runtime/status-sync-handler.ts", import.meta.url),
);

/**
 * The listener that records the ends a state machine cannot record itself (a stopped,
 * timed-out or errored execution) in the job table: a rule on the state machine's status
 * changes invoking a function, with one dead-letter queue for what neither can handle.
 */
export function addStatusSync(
  scope: Construct,
  table: ITable,
  stateMachine: StateMachine,
): { fn: SpoolFunction; deadLetterQueue: Queue } {
  // One queue for both ways an event can be lost: EventBridge failing to deliver it, and the
  // function failing on it (EventBridge invokes asynchronously; after Lambda's own retries a
  // failed event would otherwise be dropped).
  const deadLetterQueue = new Queue(scope, "StatusSyncDeadLetterQueue", {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledgeDeadLetterQueue(
    deadLetterQueue,
    "status-change events EventBridge or the listener could not handle",
  );
  const fn = new SpoolFunction(scope, "StatusSync", {
    entry: STATUS_SYNC_ENTRY,
    environment: { [JOBS_TABLE_ENV]: table.tableName },
    description: "Records stopped, timed-out and errored saga executions in the job table",
    deadLetterQueue,
    retryAttempts: 2,
  });
  table.grant(fn, "dynamodb:GetItem", "dynamodb:UpdateItem");
  stateMachine.grantExecution(fn, "states:DescribeExecution");
  new Rule(scope, "StatusChanges", {
    description: "Executions of the saga that ended without recording their job",
    eventPattern: {
      source: ["aws.states"],
      detailType: ["Step Functions Execution Status Change"],
      detail: {
        stateMachineArn: [stateMachine.stateMachineArn],
        status: ["FAILED", "TIMED_OUT", "ABORTED"],
      },
    },
    targets: [
      new LambdaFunction(fn, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
        deadLetterQueue,
      }),
    ],
  });
  Validations.of(fn).acknowledge({
    id: "Serverless-LambdaAsyncFailureDestination",
    reason:
      "Asynchronous failures go to the function's dead-letter queue (deadLetterQueue, after 2 retries), the same queue as the rule target's; a second on-failure destination would split them.",
  });
  return { fn, deadLetterQueue };
}
