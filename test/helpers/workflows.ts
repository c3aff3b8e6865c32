import { InvokeCommand } from "@aws-sdk/client-lambda";
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { fulfilmentJobId } from "../../lambdas/fulfilment-starter/start-fulfilment.js";
import type { FulfilmentRequest } from "../../lambdas/fulfilment-steps/schema.js";
import type { JobStatus } from "../../lib/spool/job-table/job-states.js";
import type { JobRecord } from "../../lib/spool/job-table/runtime/jobs.js";
import { spoolMessage } from "../../lib/spool/runtime/producer.js";
import {
  type ExecutionSummary,
  summarizeExecution,
} from "../../lib/spool/saga-workflow/runtime/executions.js";
import type { JobReport } from "../../lib/spool/saga-workflow/runtime/job-report.js";
import { config, ddb, getItem, lambda, output, sqs, uniqueId, waitFor } from "./cloud.js";

/** Test helpers for the order fulfilment saga (lib/example/parts/workflows.ts). */

export const sfn = new SFNClient(config);
export const STOCK = 10;
export const TERMINAL: JobStatus[] = [
  "SUCCEEDED",
  "FAILED",
  "COMPENSATED",
  "DEAD_LETTERED",
  "CANCELED",
];

/** An order of 2 units of its own SKU (stock seeded by `seedStock`). */
export function newOrder(overrides: Partial<FulfilmentRequest> = {}): FulfilmentRequest {
  const orderId = uniqueId("o");
  return {
    schemaVersion: 1,
    orderId,
    customerId: "customer-7",
    customerEmail: `${orderId}@example.com`,
    items: [{ sku: `sku-${orderId}`, quantity: 2 }],
    amountCents: 4_200,
    currency: "EUR",
    ...overrides,
  };
}

export async function seedStock(order: FulfilmentRequest, available = STOCK): Promise<void> {
  for (const item of order.items) {
    await ddb.send(
      new PutCommand({
        TableName: output("EffectsTableName"),
        Item: { pk: `sku#${item.sku}`, sk: "stock", available },
      }),
    );
  }
}

export async function stockOf(sku: string): Promise<number | undefined> {
  return (await getItem(output("EffectsTableName"), { pk: `sku#${sku}`, sk: "stock" }))
    ?.available as number | undefined;
}

export async function sendOrder(body: unknown, correlationId?: string) {
  return sqs.send(
    new SendMessageCommand(
      spoolMessage({
        queueUrl: output("FulfilmentQueueUrl"),
        body,
        ...(correlationId ? { correlationId } : {}),
      }),
    ),
  );
}

/** Seeds the order's stock and sends it to the fulfilment queue. */
export async function placeOrder(order: FulfilmentRequest, correlationId?: string) {
  await seedStock(order);
  return sendOrder(order, correlationId);
}

export async function jobOf(orderId: string): Promise<JobRecord | undefined> {
  return (await getItem(output("JobsTableName"), { jobId: fulfilmentJobId(orderId) })) as
    | JobRecord
    | undefined;
}

/** Waits for the order's job to reach one of `statuses` (by default any terminal one). */
export function waitForJob(
  orderId: string,
  statuses: JobStatus[] = TERMINAL,
  timeoutMs = 60_000,
): Promise<JobRecord> {
  return waitFor(
    async () => {
      const job = await jobOf(orderId);
      return job && statuses.includes(job.status) ? job : undefined;
    },
    { what: `job of ${orderId} in ${statuses.join("|")}`, timeoutMs, intervalMs: 300 },
  );
}

/** The effects the order's journal recorded, in order. */
export async function journalOf(orderId: string): Promise<string[]> {
  const item = await getItem(output("EffectsTableName"), { pk: `order#${orderId}`, sk: "journal" });
  return ((item?.entries ?? []) as { effect: string }[]).map((e) => e.effect);
}

export function executionArnOf(name: string): string {
  const machine = output("FulfilmentStateMachineArn");
  return `${machine.replace(":stateMachine:", ":execution:")}:${name}`;
}

/** Waits for the execution to stop, then reads its path. */
export async function finishedExecution(name: string): Promise<ExecutionSummary> {
  const executionArn = executionArnOf(name);
  await waitFor(
    async () => {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status !== "RUNNING";
    },
    { what: `execution ${name} to stop`, timeoutMs: 60_000, intervalMs: 300 },
  );
  return summarizeExecution(sfn, executionArn);
}

/** The names of the Task states an execution ran, in order. */
export const tasksOf = (execution: ExecutionSummary) =>
  execution.states
    .filter((s) => s.type === "Task" && !s.name.startsWith("Record "))
    .map((s) => s.name);

export const visitOf = (execution: ExecutionSummary, name: string) => {
  const visit = execution.states.find((s) => s.name === name);
  if (!visit) throw new Error(`the execution never entered ${name}`);
  return visit;
};

export const outcomeOf = (execution: ExecutionSummary, name: string) =>
  JSON.parse(visitOf(execution, name).result ?? "null") as { outcome?: string; code?: string };

/** Starts the saga directly (not through the queue), as an operator or a test would. */
export async function startDirectly(name: string, input: unknown) {
  return sfn.send(
    new StartExecutionCommand({
      stateMachineArn: output("FulfilmentStateMachineArn"),
      name,
      input: JSON.stringify(input),
    }),
  );
}

/** Asks the job-query Lambda what happened to the order. */
export async function whatHappened(orderId: string): Promise<JobReport> {
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: output("JobQueryFunctionName"),
      Payload: JSON.stringify({ kind: "order-fulfilment", businessKey: orderId }),
    }),
  );
  const text = new TextDecoder().decode(response.Payload);
  if (response.FunctionError) throw new Error(`job-query failed: ${text}`);
  return JSON.parse(text) as JobReport;
}
