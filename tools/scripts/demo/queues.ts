import { randomUUID } from "node:crypto";
import {
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { parseDeadLetterMetadata } from "../../../lib/spool/runtime/dead-letter.js";
import { FAULT_ATTRIBUTE } from "../../../lib/spool/runtime/faults.js";
import { spoolMessage } from "../../../lib/spool/runtime/producer.js";
import { functionLogLines, type LocalClients } from "../lib/aws.js";
import { dim, ok, say, seconds, step, table, waitWithProgress, yellow } from "../lib/narrate.js";

export interface DemoContext {
  readonly clients: LocalClients;
  /** A stack output by name; throws if the deployed stack has no such output. */
  readonly output: (name: string) => string;
  /** Where each demo message ended up, for the closing summary. */
  readonly ledger: { message: string; outcome: string }[];
}

const run = randomUUID().slice(0, 6);

function notification(id: string) {
  return {
    schemaVersion: 1,
    notificationId: id,
    channel: "email",
    recipient: `${id}@example.com`,
    template: "order-confirmation",
  };
}

async function getItem(ctx: DemoContext, pk: string, sk: string) {
  const { Item } = await ctx.clients.ddb.send(
    new GetCommand({
      TableName: ctx.output("EffectsTableName"),
      Key: { pk, sk },
      ConsistentRead: true,
    }),
  );
  return Item;
}

/** Receives the dead letter whose body contains `needle`, leaving the rest visible. */
async function findDeadLetter(ctx: DemoContext, queueUrl: string, needle: string) {
  return waitWithProgress(`the dead letter ${needle}`, async () => {
    const { Messages = [] } = await ctx.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        MessageAttributeNames: ["All"],
      }),
    );
    return Messages.find((m: Message) => m.Body?.includes(needle));
  });
}

export async function ordersInOrder(ctx: DemoContext): Promise<void> {
  step("Orders: one FIFO message group per order keeps each order's events in sequence");
  const orderId = `order-${run}`;
  const types = ["OrderPlaced", "OrderPaid", "OrderShipped"];
  await ctx.clients.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: ctx.output("OrdersQueueUrl"),
      Entries: types.map((type, i) => {
        const input = spoolMessage({
          queueUrl: ctx.output("OrdersQueueUrl"),
          body: {
            schemaVersion: 1,
            orderId,
            seq: i + 1,
            type,
            customerId: "customer-42",
            amountCents: 4_200,
            occurredAt: new Date().toISOString(),
          },
          groupId: orderId,
          deduplicationId: `${orderId}#${i + 1}`,
        });
        return {
          Id: `e${i}`,
          MessageBody: input.MessageBody,
          MessageAttributes: input.MessageAttributes,
          MessageGroupId: input.MessageGroupId,
          MessageDeduplicationId: input.MessageDeduplicationId,
        };
      }),
    }),
  );
  say(`sent ${types.join(" → ")} for ${orderId} (message group ${orderId})`);
  const { value, elapsedMs } = await waitWithProgress("the order projection", async () => {
    const item = await getItem(ctx, `order#${orderId}`, "projection");
    return item?.history?.length === 3 ? item : undefined;
  });
  const history = value.history as { seq: number; type: string }[];
  ok(
    `applied in order in ${seconds(elapsedMs)}: ${history.map((h) => `${h.seq}:${h.type}`).join(", ")}; status ${value.status}`,
  );
  ctx.ledger.push({ message: `${orderId} events 1-3`, outcome: "applied in order" });
}

export async function duplicatesSuppressed(ctx: DemoContext): Promise<void> {
  step("Duplicates: the same notification sent three times is delivered once");
  const id = `welcome-${run}`;
  const body = JSON.stringify(notification(id));
  await ctx.clients.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: ctx.output("NotificationsQueueUrl"),
      Entries: [1, 2, 3].map((i) => ({ Id: `d${i}`, MessageBody: body })),
    }),
  );
  say(`sent notification ${id} three times (three SQS messages, one business key)`);
  const { value: lines, elapsedMs } = await waitWithProgress(
    "all three to be consumed",
    async () => {
      const found = await functionLogLines(
        ctx.clients,
        ctx.output("NotificationsFunctionName"),
        id,
      );
      const done = found.filter(
        (l) => l.message === "processed" || l.message === "duplicate suppressed",
      );
      return done.length >= 3 ? found : undefined;
    },
  );
  const delivery = await getItem(ctx, `notification#${id}`, "delivery");
  const suppressed = lines.filter((l) => l.message === "duplicate suppressed").length;
  ok(
    `consumed in ${seconds(elapsedMs)}: 1 delivery (message ${String(delivery?.messageId).slice(0, 8)}…), ${suppressed} duplicates suppressed by the idempotency record`,
  );
  ctx.ledger.push({ message: `${id} ×3`, outcome: `1 delivery, ${suppressed} suppressed` });
}

/** The correlation id of the malformed message (the triage scene archives it by this). */
export const MALFORMED_CORRELATION_ID = `demo-${run}`;

export async function poisonDeadLettered(ctx: DemoContext): Promise<void> {
  step("Poison: a malformed message goes to the dead-letter queue at once, with its reasons");
  const marker = `broken-${run}`;
  const correlationId = MALFORMED_CORRELATION_ID;
  await ctx.clients.sqs.send(
    new SendMessageCommand(
      spoolMessage({
        queueUrl: ctx.output("NotificationsQueueUrl"),
        body: `{"notificationId": "${marker}", oops`,
        correlationId,
      }),
    ),
  );
  say(`sent a body that is not JSON (correlation id ${correlationId})`);
  const { value: letter, elapsedMs } = await findDeadLetter(
    ctx,
    ctx.output("NotificationsDeadLetterQueueUrl"),
    marker,
  );
  const meta = parseDeadLetterMetadata(letter.MessageAttributes);
  ok(`dead-lettered after ${meta?.attempts} attempt in ${seconds(elapsedMs)}; metadata:`);
  say(
    dim(
      `reason=${meta?.reason} class=${meta?.errorClass} code=${meta?.errorCode} correlationId=${meta?.correlationId}`,
    ),
  );
  say(dim(`message="${meta?.errorMessage}" source=${meta?.sourceQueue.split(":").pop()}`));
  ctx.ledger.push({ message: "malformed body", outcome: `DLQ (${meta?.errorCode})` });
}

export async function transientRetried(ctx: DemoContext): Promise<void> {
  step("Transient failure: retried with exponential backoff and full jitter, then delivered");
  const id = `flaky-${run}`;
  const sent = await ctx.clients.sqs.send(
    new SendMessageCommand(
      spoolMessage({
        queueUrl: ctx.output("NotificationsQueueUrl"),
        body: notification(id),
        attributes: { [FAULT_ATTRIBUTE]: "transient:2" },
      }),
    ),
  );
  say(`sent ${id}; fault injection makes its first two attempts fail (${yellow("test hook")})`);
  const { value: delivery, elapsedMs } = await waitWithProgress("delivery after retries", () =>
    getItem(ctx, `notification#${id}`, "delivery"),
  );
  const lines = await functionLogLines(
    ctx.clients,
    ctx.output("NotificationsFunctionName"),
    sent.MessageId ?? "",
  );
  const retries = lines
    .filter((l) => l.message === "transient failure; will retry")
    .map((l) => [String(l.attempt), `${String(l.retryInSeconds)} s`, String(l.timestamp)]);
  say(table(["attempt", "retry in", "failed at"], retries));
  ok(`delivered on attempt ${delivery.attempt} after ${seconds(elapsedMs)}`);
  ctx.ledger.push({ message: id, outcome: `delivered on attempt ${delivery.attempt}` });
}
