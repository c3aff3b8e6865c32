import { randomUUID } from "node:crypto";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { fulfilmentJobId } from "../../../lambdas/fulfilment-starter/start-fulfilment.js";
import type { FulfilmentRequest } from "../../../lambdas/fulfilment-steps/schema.js";
import { spoolMessage } from "../../../lib/spool/runtime/producer.js";
import type { JobReport } from "../../../lib/spool/saga-workflow/runtime/job-report.js";
import { dim, ok, say, seconds, step, table, waitWithProgress, yellow } from "../lib/narrate.js";
import type { DemoContext } from "./queues.js";

const run = randomUUID().slice(0, 6);

/** The order whose payment is declined in this demo run (the operations scene looks it up). */
export const declinedOrderId = `order-declined-${run}`;
const TERMINAL = ["SUCCEEDED", "FAILED", "COMPENSATED", "DEAD_LETTERED", "CANCELED"];

function order(orderId: string, amountCents: number): FulfilmentRequest {
  return {
    schemaVersion: 1,
    orderId,
    customerId: "customer-42",
    customerEmail: `${orderId}@example.com`,
    items: [
      { sku: `mug-${orderId}`, quantity: 2 },
      { sku: `tea-${orderId}`, quantity: 1 },
    ],
    amountCents,
    currency: "EUR",
  };
}

async function seedStock(ctx: DemoContext, skus: string[]) {
  for (const sku of skus) {
    await ctx.clients.ddb.send(
      new PutCommand({
        TableName: ctx.output("EffectsTableName"),
        Item: { pk: `sku#${sku}`, sk: "stock", available: 10 },
      }),
    );
  }
}

async function journalOf(ctx: DemoContext, orderId: string): Promise<string> {
  const { Item } = await ctx.clients.ddb.send(
    new GetCommand({
      TableName: ctx.output("EffectsTableName"),
      Key: { pk: `order#${orderId}`, sk: "journal" },
      ConsistentRead: true,
    }),
  );
  return ((Item?.entries ?? []) as { effect: string }[]).map((e) => e.effect).join(" → ");
}

async function stockOf(ctx: DemoContext, sku: string): Promise<number> {
  const { Item } = await ctx.clients.ddb.send(
    new GetCommand({
      TableName: ctx.output("EffectsTableName"),
      Key: { pk: `sku#${sku}`, sk: "stock" },
      ConsistentRead: true,
    }),
  );
  return Item?.available as number;
}

/** Sends the order to the fulfilment queue and waits for its job to finish. */
async function fulfil(ctx: DemoContext, request: FulfilmentRequest) {
  await ctx.clients.sqs.send(
    new SendMessageCommand(
      spoolMessage({ queueUrl: ctx.output("FulfilmentQueueUrl"), body: request }),
    ),
  );
  say(
    `sent order ${request.orderId} (${(request.amountCents / 100).toFixed(2)} EUR) to the fulfilment queue`,
  );
  const { value: job, elapsedMs } = await waitWithProgress(
    `the saga of ${request.orderId}`,
    async () => {
      const { Item } = await ctx.clients.ddb.send(
        new GetCommand({
          TableName: ctx.output("JobsTableName"),
          Key: { jobId: fulfilmentJobId(request.orderId) },
          ConsistentRead: true,
        }),
      );
      return Item && TERMINAL.includes(Item.status as string) ? Item : undefined;
    },
  );
  return { job, elapsedMs };
}

/** "What happened to order X?", answered by the job-query Lambda. */
async function whatHappened(ctx: DemoContext, orderId: string): Promise<JobReport> {
  const response = await ctx.clients.lambda.send(
    new InvokeCommand({
      FunctionName: ctx.output("JobQueryFunctionName"),
      Payload: JSON.stringify({ kind: "order-fulfilment", businessKey: orderId }),
    }),
  );
  return JSON.parse(new TextDecoder().decode(response.Payload)) as JobReport;
}

function printTimeline(report: JobReport) {
  const start = Date.parse(report.timeline[0]?.at ?? "");
  say(
    table(
      ["+ms", "source", "event", "detail"],
      report.timeline.map((e) => [
        String(Date.parse(e.at) - start),
        e.source,
        e.event,
        e.detail ?? "",
      ]),
    ),
  );
}

export async function sagaFulfilled(ctx: DemoContext): Promise<void> {
  step("Saga: an order is fulfilled in four steps, started once from the queue");
  const request = order(`order-ok-${run}`, 4_200);
  await seedStock(
    ctx,
    request.items.map((i) => i.sku),
  );
  const { job, elapsedMs } = await fulfil(ctx, request);
  ok(`job ${job.jobId} ${job.status} in ${seconds(elapsedMs)}`);
  const report = await whatHappened(ctx, request.orderId);
  say(dim("what happened to it (the job-query function):"));
  printTimeline(report);
  say(dim(`effects, each once: ${await journalOf(ctx, request.orderId)}`));
  say(dim(`mugs in stock: ${await stockOf(ctx, `mug-${request.orderId}`)} of 10 (2 reserved)`));
  ctx.ledger.push({ message: request.orderId, outcome: `job ${job.status}` });
}

export async function sagaCompensated(ctx: DemoContext): Promise<void> {
  step("Saga: the payment is declined, so the reserved stock is released (compensation)");
  const request = order(declinedOrderId, 250_000);
  await seedStock(
    ctx,
    request.items.map((i) => i.sku),
  );
  say(`the payment provider declines charges above 1000.00 EUR (${yellow("a business outcome")})`);
  const { job, elapsedMs } = await fulfil(ctx, request);
  ok(
    `job ${job.jobId} ${job.status} in ${seconds(elapsedMs)}: ${job.lastError?.error} at ${job.lastError?.step}`,
  );
  printTimeline(await whatHappened(ctx, request.orderId));
  say(dim(`effects, each once: ${await journalOf(ctx, request.orderId)}`));
  say(dim(`mugs in stock: ${await stockOf(ctx, `mug-${request.orderId}`)} of 10 (released again)`));
  ctx.ledger.push({
    message: request.orderId,
    outcome: `job ${job.status} (${job.lastError?.error})`,
  });
}
