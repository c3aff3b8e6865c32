import { randomUUID } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { spoolMessage } from "../../lib/spool/runtime/producer.js";
import type { LocalClients } from "../scripts/lib/aws.js";

/**
 * Sends `count` notifications one after another and measures, for each, the time from SendMessage
 * returning to its delivery row being readable (polled every 25 ms). The first message warms the
 * consumer and is not counted.
 */
export async function measureOneMessageLatency(
  clients: LocalClients,
  output: (name: string) => string,
  count: number,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i <= count; i++) {
    const id = `bench-${randomUUID().slice(0, 12)}`;
    await clients.sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: output("NotificationsQueueUrl"),
          body: {
            schemaVersion: 1,
            notificationId: id,
            channel: "email",
            recipient: `${id}@example.com`,
            template: "bench",
          },
        }),
      ),
    );
    const sent = performance.now();
    for (;;) {
      const { Item } = await clients.ddb.send(
        new GetCommand({
          TableName: output("EffectsTableName"),
          Key: { pk: `notification#${id}`, sk: "delivery" },
        }),
      );
      if (Item) break;
      if (performance.now() - sent > 30_000)
        throw new Error(`message ${id} had no effect after 30 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
    if (i > 0) samples.push(performance.now() - sent);
  }
  return samples;
}
