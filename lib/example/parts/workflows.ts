import { Annotations, CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { JobTable } from "../../spool/job-table/index.js";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import {
  SAGA_EXECUTIONS_RULE,
  type SagaRetry,
  SagaWorkflow,
} from "../../spool/saga-workflow/index.js";
import {
  acknowledgeSynchronousInvocation,
  acknowledgeWildcardResources,
  SpoolFunction,
} from "../../spool/spool-function/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface WorkflowsProps {
  readonly effectsTable: Table;
  /** Where the saga's last step asks for the customer's notification. */
  readonly notifications: ReliableQueue;
  /** Environment shared by every handler (test hooks in local deployments). */
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
  /** Short retry timings and fault directives in the workflow (local emulator only). */
  readonly testHooks: boolean;
}

/** Steps retry in seconds in test deployments, so the suite can watch a run fail for good. */
const TEST_RETRY: SagaRetry = {
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxAttempts: 3,
  maxDelay: Duration.seconds(4),
};

/**
 * Order fulfilment as a saga: a request on the fulfilment queue starts (at most once per order)
 * a workflow that reserves inventory, charges the payment, confirms the order and asks for the
 * customer's notification, undoing the completed steps when one fails for good. Each order is a
 * job in the jobs table, and the job-query function tells what happened to it.
 */
export class Workflows extends Construct {
  readonly jobs: JobTable;
  readonly fulfilmentQueue: ReliableQueue;
  readonly starter: QueueConsumer;
  readonly steps: SpoolFunction;
  readonly saga: SagaWorkflow;
  readonly jobQuery: SpoolFunction;

  constructor(scope: Construct, id: string, props: WorkflowsProps) {
    super(scope, id);
    this.jobs = new JobTable(this, "Jobs");

    // One function serves every step and compensation of this saga (it dispatches on the
    // payload's step and phase): one bundle and one warm pool for one domain's steps. The
    // SagaWorkflow construct takes a function per step, so splitting them later is local.
    this.steps = new SpoolFunction(this, "FulfilmentSteps", {
      entry: lambdaEntry("fulfilment-steps/handler.ts"),
      timeout: props.testHooks ? Duration.seconds(10) : Duration.seconds(30),
      description: "Order fulfilment saga: every step and compensation",
      environment: {
        ...props.handlerEnvironment,
        EFFECTS_TABLE: props.effectsTable.tableName,
        NOTIFICATIONS_QUEUE_URL: props.notifications.queue.queueUrl,
        PAYMENT_LIMIT_CENTS: "100000",
        POWERTOOLS_SERVICE_NAME: "fulfilment-steps",
      },
    });
    props.effectsTable.grant(
      this.steps,
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );
    props.notifications.queue.grantSendMessages(this.steps);

    this.saga = new SagaWorkflow(this, "Fulfilment", {
      steps: [
        { name: "reserveInventory", function: this.steps, compensation: this.steps },
        { name: "chargePayment", function: this.steps, compensation: this.steps },
        { name: "confirmOrder", function: this.steps, compensation: this.steps },
        { name: "notifyCustomer", function: this.steps },
      ],
      jobTable: this.jobs.table,
      faultInjection: props.testHooks,
      ...(props.testHooks ? { stepRetry: TEST_RETRY, compensationRetry: TEST_RETRY } : {}),
      // Short in test deployments, so a test can watch a run time out.
      timeout: props.testHooks ? Duration.seconds(30) : Duration.hours(1),
    });

    // AWS's guidance for Lambda consumers: visibility timeout at least 6x the function timeout.
    this.fulfilmentQueue = new ReliableQueue(this, "FulfilmentRequests", {
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
    });
    this.starter = new QueueConsumer(this, "FulfilmentStarter", {
      source: this.fulfilmentQueue,
      entry: lambdaEntry("fulfilment-starter/handler.ts"),
      consumerName: "fulfilment-starter",
      timeout: props.consumerTimeout,
      backoff: props.backoff,
      environment: {
        ...props.handlerEnvironment,
        JOBS_TABLE: this.jobs.tableName,
        STATE_MACHINE_ARN: this.saga.stateMachine.stateMachineArn,
      },
    });
    Annotations.of(this.starter).acknowledgeWarning(
      "spool:consumerWithoutIdempotency",
      "the execution name (the order id) is this consumer's exactly-once boundary",
    );
    this.saga.stateMachine.grantStartExecution(this.starter.function);
    this.saga.stateMachine.grantExecution(this.starter.function, "states:DescribeExecution");
    this.jobs.grantRecord(this.starter.function);

    this.jobQuery = new SpoolFunction(this, "JobQuery", {
      entry: lambdaEntry("job-query/handler.ts"),
      description: "What happened to a job: its transitions and its execution's steps",
      environment: { JOBS_TABLE: this.jobs.tableName, POWERTOOLS_SERVICE_NAME: "job-query" },
    });
    this.jobs.grantRead(this.jobQuery);
    acknowledgeSynchronousInvocation(this.jobQuery, "whoever asks what happened to a job");
    acknowledgeSynchronousInvocation(this.steps, "the saga's state machine (LambdaInvoke tasks)");
    acknowledgeWildcardResources(this, [SAGA_EXECUTIONS_RULE]);
    this.saga.stateMachine.grantExecution(
      this.jobQuery,
      "states:DescribeExecution",
      "states:GetExecutionHistory",
    );

    const outputs: Record<string, string> = {
      FulfilmentQueueUrl: this.fulfilmentQueue.queue.queueUrl,
      FulfilmentDeadLetterQueueUrl: this.fulfilmentQueue.deadLetterQueue.queueUrl,
      FulfilmentStateMachineArn: this.saga.stateMachine.stateMachineArn,
      FulfilmentStarterFunctionName: this.starter.function.functionName,
      FulfilmentStepsFunctionName: this.steps.functionName,
      FulfilmentFailedAlarmName: this.saga.failedExecutionsAlarm.alarmName,
      FulfilmentTimedOutAlarmName: this.saga.timedOutExecutionsAlarm.alarmName,
      FulfilmentLogGroupName: this.saga.logGroup.logGroupName,
      JobsTableName: this.jobs.tableName,
      JobQueryFunctionName: this.jobQuery.functionName,
      JobStatusSyncFunctionName: this.saga.statusSync?.functionName ?? "",
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(scope, name, { value });
  }
}
