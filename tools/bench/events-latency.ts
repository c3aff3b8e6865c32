import { randomUUID } from "node:crypto";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { CheckoutResponse } from "../../lambdas/checkout/place-order.js";
import type { LocalClients } from "../scripts/lib/aws.js";

export interface FanOutSample {
  /** The checkout invocation (one TransactWriteItems). */
  readonly checkoutMs: number;
  /** From invoking the checkout to all three subscribers' effects being readable. */
  readonly fanOutMs: number;
}

/**
 * Places `count` orders one after another and measures each checkout call and the time until
 * payments, order confirmation and analytics have all recorded it (polled every 25 ms). The first
 * order warms every function and is not counted.
 */
export async function measureCheckoutFanOut(
  clients: LocalClients,
  output: (name: string) => string,
  count: number,
): Promise<FanOutSample[]> {
  const samples: FanOutSample[] = [];
  const get = async (pk: string, sk: string) =>
    (
      await clients.ddb.send(
        new GetCommand({ TableName: output("EffectsTableName"), Key: { pk, sk } }),
      )
    ).Item;
  for (let i = 0; i <= count; i++) {
    const id = randomUUID().slice(0, 12);
    const started = performance.now();
    const result = await clients.lambda.send(
      new InvokeCommand({
        FunctionName: output("CheckoutFunctionName"),
        Payload: Buffer.from(
          JSON.stringify({
            idempotencyKey: `bench-${id}`,
            customerId: `bench-${id}`,
            email: `bench-${id}@example.com`,
            currency: "EUR",
            items: [{ sku: "bench", quantity: 1, unitPriceCents: 100 }],
          }),
        ),
      }),
    );
    const checkoutMs = performance.now() - started;
    const order = JSON.parse(Buffer.from(result.Payload ?? []).toString()) as CheckoutResponse;
    if (order.outcome !== "created") throw new Error(`checkout ${id}: ${JSON.stringify(order)}`);
    for (;;) {
      const effects = await Promise.all([
        get(`payment#${order.orderId}`, "authorization"),
        get(`notification#order-confirmation#${order.orderId}`, "delivery"),
        get(`analytics#order#${order.orderId}`, "counted"),
      ]);
      if (effects.every(Boolean)) break;
      if (performance.now() - started > 30_000) {
        throw new Error(`order ${order.orderId} did not reach all three consumers in 30 s`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (i > 0) samples.push({ checkoutMs, fanOutMs: performance.now() - started });
  }
  return samples;
}
