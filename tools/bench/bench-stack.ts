import { fileURLToPath } from "node:url";
import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { QueueConsumer } from "../../lib/spool/queue-consumer/index.js";
import { ReliableQueue } from "../../lib/spool/reliable-queue/index.js";

/**
 * Deployed only by `npm run bench` (its own app, tools/bench/app.ts): a queue whose consumer does
 * nothing, built with the same construct defaults as the reference consumers, so end-to-end
 * throughput can be compared against a baseline on the same emulator in the same run.
 */
export class SpoolBenchStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const timeout = Duration.seconds(5);
    const queue = new ReliableQueue(this, "Empty", { visibilityTimeout: Duration.seconds(30) });
    new QueueConsumer(this, "EmptyConsumer", {
      source: queue,
      entry: fileURLToPath(new URL("./lambdas/empty-handler.ts", import.meta.url)),
      consumerName: "bench-empty",
      timeout,
    });
    new CfnOutput(this, "EmptyQueueUrl", { value: queue.queue.queueUrl });
  }
}
