import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import type { JobTable } from "../../spool/job-table/index.js";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface ChunkedJobsProps {
  readonly idempotencyTable: IdempotencyTable;
  readonly jobs: JobTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly backoff: RetryBackoff;
}

/**
 * Test hooks only: a consumer whose messages are jobs (`chunked-job:<key>` in the stack's job
 * table) of up to 50 one-second chunks, reporting progress after each and checking for a cancel
 * before each, so the suite can watch `spool jobs show` count to 10/10 and `spool jobs cancel`
 * stop a job within one chunk.
 *
 * And a second consumer, `continued-job`, whose jobs cannot fit one invocation (10 s timeout,
 * 1.5 s items, four per message): each message does a chunk and sends a continuation with the
 * next cursor to its own queue (lib/spool/runtime/continuation.ts), all of them one job.
 */
export class ChunkedJobs extends Construct {
  readonly queue: ReliableQueue;
  readonly consumer: QueueConsumer;
  readonly continuedQueue: ReliableQueue;
  readonly continuedConsumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: ChunkedJobsProps) {
    super(scope, id);
    // A job runs for tens of seconds: a heartbeat keeps it hidden instead of a visibility
    // timeout of six times the function's.
    this.queue = new ReliableQueue(this, "Queue", { visibilityTimeout: Duration.seconds(15) });
    this.consumer = new QueueConsumer(this, "Consumer", {
      source: this.queue,
      entry: lambdaEntry("chunked-job/handler.ts"),
      consumerName: "chunked-job",
      idempotencyTable: props.idempotencyTable.table,
      // The kind lambdas/chunked-job names its jobs by (CHUNKED_JOB_KIND there).
      jobs: { table: props.jobs.table, kind: "chunked-job" },
      timeout: Duration.seconds(120),
      heartbeat: { every: Duration.seconds(5), extendBy: Duration.seconds(15) },
      backoff: props.backoff,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    props.effectsTable.grant(this.consumer.function, "dynamodb:PutItem");

    // 60 s: six times the function's 10 s, no heartbeat needed since a chunk fits one invocation.
    this.continuedQueue = new ReliableQueue(this, "ContinuedQueue", {
      visibilityTimeout: Duration.seconds(60),
    });
    this.continuedConsumer = new QueueConsumer(this, "ContinuedConsumer", {
      source: this.continuedQueue,
      entry: lambdaEntry("continued-job/handler.ts"),
      consumerName: "continued-job",
      idempotencyTable: props.idempotencyTable.table,
      // The kind lambdas/continued-job names its jobs by (CONTINUED_JOB_KIND there).
      jobs: { table: props.jobs.table, kind: "continued-job" },
      timeout: Duration.seconds(10),
      backoff: props.backoff,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    // putOnce: a conditional put, and an update counting a duplicate on the existing item.
    props.effectsTable.grant(
      this.continuedConsumer.function,
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );

    new CfnOutput(scope, "ChunkedJobsQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(scope, "ChunkedJobsDeadLetterQueueUrl", {
      value: this.queue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(scope, "ChunkedJobsFunctionName", {
      value: this.consumer.function.functionName,
    });
    new CfnOutput(scope, "ContinuedJobsQueueUrl", {
      value: this.continuedQueue.queue.queueUrl,
    });
    new CfnOutput(scope, "ContinuedJobsDeadLetterQueueUrl", {
      value: this.continuedQueue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(scope, "ContinuedJobsFunctionName", {
      value: this.continuedConsumer.function.functionName,
    });
  }
}
