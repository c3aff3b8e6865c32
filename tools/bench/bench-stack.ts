import { fileURLToPath } from "node:url";
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from "aws-cdk-lib";
import { AttributeType, BillingMode, Table } from "aws-cdk-lib/aws-dynamodb";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { Construct } from "constructs";
import { IdempotencyTable } from "../../lib/spool/idempotency-table/index.js";
import { QueueConsumer } from "../../lib/spool/queue-consumer/index.js";
import { ReliableQueue } from "../../lib/spool/reliable-queue/index.js";
import { SpoolFunction } from "../../lib/spool/spool-function/index.js";

const lambda = (file: string) => fileURLToPath(new URL(`./lambdas/${file}`, import.meta.url));

/**
 * Deployed only by `npm run bench` (its own app, tools/bench/app.ts), two baselines beside the
 * reference consumers on the same emulator in the same run:
 * - a queue whose consumer does nothing, built with the same construct defaults;
 * - the peer (lambdas/peer-consumer.ts): the notifications consumer as a user would write it with
 *   Powertools alone, with its own idempotency and effects tables, bundled by SpoolFunction and
 *   fed by an event source with QueueConsumer's defaults (batches of 10, at most 5 at once).
 */
export class SpoolBenchStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const timeout = Duration.seconds(5);
    const queue = new ReliableQueue(this, "Empty", { visibilityTimeout: Duration.seconds(30) });
    new QueueConsumer(this, "EmptyConsumer", {
      source: queue,
      entry: lambda("empty-handler.ts"),
      consumerName: "bench-empty",
      timeout,
    });
    new CfnOutput(this, "EmptyQueueUrl", { value: queue.queue.queueUrl });

    const peerQueue = new ReliableQueue(this, "Peer", { visibilityTimeout: Duration.seconds(30) });
    const idempotency = new IdempotencyTable(this, "PeerIdempotency", {
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const effects = new Table(this, "PeerEffects", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      sortKey: { name: "sk", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const peer = new SpoolFunction(this, "PeerConsumer", {
      entry: lambda("peer-consumer.ts"),
      timeout,
      environment: {
        IDEMPOTENCY_TABLE: idempotency.tableName,
        EFFECTS_TABLE: effects.tableName,
        POWERTOOLS_SERVICE_NAME: "bench-peer",
      },
    });
    idempotency.grantIdempotency(peer);
    effects.grant(peer, "dynamodb:PutItem", "dynamodb:ConditionCheckItem", "dynamodb:UpdateItem");
    peer.addEventSource(
      new SqsEventSource(peerQueue.queue, {
        batchSize: 10,
        maxConcurrency: 5,
        reportBatchItemFailures: true,
      }),
    );
    // As a user would leave it: the queue's redrive policy is its only failure path.
    Validations.of(peer).acknowledge(
      {
        id: "Serverless-LambdaDLQ",
        reason: "Invoked synchronously by its SQS event source: failures go to the queue's DLQ.",
      },
      {
        id: "Serverless-LambdaEventSourceMappingDestination",
        reason: "SQS event sources support no on-failure destination; the redrive policy is it.",
      },
    );
    new CfnOutput(this, "PeerQueueUrl", { value: peerQueue.queue.queueUrl });
  }
}
