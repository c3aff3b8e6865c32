import { randomUUID } from "node:crypto";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { CheckoutResponse } from "../../../lambdas/checkout/place-order.js";
import { dim, ok, say, seconds, step, table, waitWithProgress } from "../lib/narrate.js";
import type { DemoContext } from "./queues.js";

const run = randomUUID().slice(0, 6);

async function checkout(ctx: DemoContext, request: unknown): Promise<CheckoutResponse> {
  const result = await ctx.clients.lambda.send(
    new InvokeCommand({
      FunctionName: ctx.output("CheckoutFunctionName"),
      Payload: Buffer.from(JSON.stringify(request)),
    }),
  );
  const body = Buffer.from(result.Payload ?? new Uint8Array()).toString("utf8");
  if (result.FunctionError) throw new Error(`checkout failed: ${body}`);
  return JSON.parse(body) as CheckoutResponse;
}

async function item(ctx: DemoContext, table: string, key: Record<string, string>) {
  const { Item } = await ctx.clients.ddb.send(
    new GetCommand({ TableName: ctx.output(table), Key: key, ConsistentRead: true }),
  );
  return Item;
}

export async function orderFansOut(ctx: DemoContext): Promise<void> {
  step("Events: one checkout, one transaction, one event fanned out to three consumers");
  const request = {
    idempotencyKey: `checkout-${run}`,
    customerId: `customer-${run}`,
    email: `ada-${run}@example.com`,
    currency: "EUR",
    items: [
      { sku: "book", quantity: 2, unitPriceCents: 1_500 },
      { sku: "pen", quantity: 1, unitPriceCents: 250 },
    ],
  };
  const started = Date.now();
  const placed = await checkout(ctx, request);
  if (placed.outcome === "rejected") throw new Error(JSON.stringify(placed.error));
  say(
    `checkout ${placed.outcome}: order ${placed.orderId.slice(0, 8)}…, ${placed.totalCents} cents; ` +
      `the order, its OrderPlaced event (outbox) and the key ${request.idempotencyKey} in one transaction`,
  );

  await waitWithProgress("the outbox publisher", async () => {
    const row = await item(ctx, "OutboxTableName", { id: placed.eventId });
    return row?.status === "PUBLISHED" ? row : undefined;
  });
  ok(
    `outbox row published to the ${ctx.output("EventBusName")} bus ${Date.now() - started} ms after the checkout call`,
  );

  const { value: effects } = await waitWithProgress("all three consumers", async () => {
    const [payment, email, stats] = await Promise.all([
      item(ctx, "EffectsTableName", { pk: `payment#${placed.orderId}`, sk: "authorization" }),
      item(ctx, "EffectsTableName", {
        pk: `notification#order-confirmation#${placed.orderId}`,
        sk: "delivery",
      }),
      item(ctx, "EffectsTableName", {
        pk: `analytics#customer#${request.customerId}`,
        sk: "stats#EUR",
      }),
    ]);
    return payment && email && stats ? { payment, email, stats } : undefined;
  });
  const total = Date.now() - started;
  say(
    table(
      ["consumer", "queue", "effect", "exactly-once boundary"],
      [
        [
          "payments",
          "FIFO, group = order",
          `authorized ${effects.payment.amountCents} cents`,
          "conditional put on the order id",
        ],
        [
          "order confirmations",
          "standard",
          `email to ${effects.email.recipient}`,
          "conditional put on the notification id",
        ],
        [
          "analytics",
          "standard",
          `customer orders = ${effects.stats.orders}`,
          "marker + increment in one transaction",
        ],
      ],
    ),
  );
  ok(`three effects, one each, ${seconds(total)} after the checkout call`);

  const retried = await checkout(ctx, { ...request, correlationId: `retry-${run}` });
  const sameOrder = retried.outcome === "replayed" && retried.orderId === placed.orderId;
  ok(
    `the same checkout sent again (same key): ${retried.outcome}, ${sameOrder ? "same order id" : "a DIFFERENT order"}; nothing new written`,
  );
  say(dim("every consumer is also idempotent by event id: a re-published event changes nothing"));
  ctx.ledger.push({
    message: `checkout ${request.idempotencyKey} ×2`,
    outcome: `1 order, 1 event, 3 effects (${retried.outcome} on retry)`,
  });
}
