import { randomUUID } from "node:crypto";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { spoolMessage } from "../../lib/spool/runtime/producer.js";
import { type LocalClients, outstandingMessages } from "../scripts/lib/aws.js";

/**
 * Sends `count` notification requests in batches of 10 and measures how long the queue takes to
 * drain (every message consumed and deleted): messages per second, end to end, on the emulator.
 */
export async function drainThroughput(
  clients: LocalClients,
  queueUrl: string,
  count: number,
): Promise<number> {
  if ((await outstandingMessages(clients.sqs, queueUrl)) > 0)
    throw new Error(`${queueUrl} is not empty before the run`);
  const started = performance.now();
  for (let i = 0; i < count; i += 10) {
    const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => {
      const id = `bench-e2e-${randomUUID().slice(0, 12)}`;
      const input = spoolMessage({
        queueUrl,
        body: {
          schemaVersion: 1,
          notificationId: id,
          channel: "email",
          recipient: `${id}@example.com`,
          template: "bench",
        },
      });
      return {
        Id: `m${j}`,
        MessageBody: input.MessageBody,
        MessageAttributes: input.MessageAttributes,
      };
    });
    await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
  const deadline = started + 300_000;
  while ((await outstandingMessages(clients.sqs, queueUrl)) > 0) {
    if (performance.now() > deadline) throw new Error(`${queueUrl} did not drain within 300 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return count / ((performance.now() - started) / 1000);
}
