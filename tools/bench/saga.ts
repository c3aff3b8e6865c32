import { randomUUID } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { fulfilmentJobId } from "../../lambdas/fulfilment-starter/start-fulfilment.js";
import { spoolMessage } from "../../lib/spool/runtime/producer.js";
import type { LocalClients } from "../scripts/lib/aws.js";

/**
 * Sends `count` fulfilment requests one after another and measures, for each, the time from
 * SendMessage returning to its job being terminal (polled every 25 ms): queue → starter →
 * execution → four steps (or a rejection and its compensation) → job write. The first order
 * warms the functions and is not counted.
 */
export async function measureSagaLatency(
  clients: LocalClients,
  output: (name: string) => string,
  count: number,
  amountCents: number,
): Promise<{ samples: number[]; status: string }> {
  const samples: number[] = [];
  let status = "";
  for (let i = 0; i <= count; i++) {
    const orderId = `bench-${randomUUID().slice(0, 12)}`;
    const sku = `sku-${orderId}`;
    await clients.ddb.send(
      new PutCommand({
        TableName: output("EffectsTableName"),
        Item: { pk: `sku#${sku}`, sk: "stock", available: 10 },
      }),
    );
    await clients.sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: output("FulfilmentQueueUrl"),
          body: {
            schemaVersion: 1,
            orderId,
            customerId: "bench",
            customerEmail: `${orderId}@example.com`,
            items: [{ sku, quantity: 1 }],
            amountCents,
            currency: "EUR",
          },
        }),
      ),
    );
    const sent = performance.now();
    for (;;) {
      const { Item } = await clients.ddb.send(
        new GetCommand({
          TableName: output("JobsTableName"),
          Key: { jobId: fulfilmentJobId(orderId) },
          ConsistentRead: true,
        }),
      );
      if (Item && ["SUCCEEDED", "COMPENSATED", "FAILED"].includes(Item.status as string)) {
        status = Item.status as string;
        break;
      }
      if (performance.now() - sent > 60_000)
        throw new Error(`order ${orderId} unfinished after 60 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
    if (i > 0) samples.push(performance.now() - sent);
  }
  return { samples, status };
}
