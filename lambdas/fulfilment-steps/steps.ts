import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { markerPut, putUnlessPresent } from "../../lib/spool/runtime/effect-once.js";
import { PermanentError } from "../../lib/spool/runtime/errors.js";
import { spoolMessage } from "../../lib/spool/runtime/producer.js";
import type {
  CompensationResult,
  StepContext,
  StepResult,
} from "../../lib/spool/saga-workflow/runtime/saga-step.js";
import type { OrderToFulfil } from "./schema.js";

/**
 * The order fulfilment saga's steps and compensations.
 *
 * Every effect is idempotent by the order id (the business key) and the step: each one is a
 * conditional write on the order's row for that step (`order#<id>` / `reservation`, `payment`,
 * `confirmation`, `notification`), so a retried or duplicated call finds its own earlier effect
 * and does nothing. A compensation that finds nothing to undo leaves a VOID tombstone, so an
 * action arriving late (a timed-out call still in flight) finds it and refuses instead of
 * charging after the refund. Each effect appends to the order's journal in the same transaction:
 * the journal lists exactly the effects made, once each, in order.
 */

export interface FulfilmentDeps {
  readonly db: DynamoDBDocumentClient;
  /** The effects table: order rows, stock rows, the journal. */
  readonly table: string;
  readonly sqs: SQSClient;
  readonly notificationsQueueUrl: string;
  /** Charges above this are declined (the simulated payment provider's rule). */
  readonly paymentLimitCents: number;
  readonly now: () => Date;
}

type Items = OrderToFulfil["items"];
type Tx = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

export const orderRow = (orderId: string, sk: string) => ({ pk: `order#${orderId}`, sk });
export const stockRow = (sku: string) => ({ pk: `sku#${sku}`, sk: "stock" });
export const journalRow = (orderId: string) => orderRow(orderId, "journal");
export const notificationIdFor = (orderId: string) => `order-confirmed-${orderId}`;

export interface JournalEntry {
  readonly effect: string;
  readonly at: string;
  readonly execution: string;
}

function journalAppend(deps: FulfilmentDeps, orderId: string, effect: string, ctx: StepContext) {
  const entry: JournalEntry = { effect, at: deps.now().toISOString(), execution: ctx.execution };
  return {
    Update: {
      TableName: deps.table,
      Key: journalRow(orderId),
      UpdateExpression: "SET entries = list_append(if_not_exists(entries, :empty), :entry)",
      ExpressionAttributeValues: { ":empty": [], ":entry": [entry] },
    },
  } satisfies Tx;
}

interface CancellationReason {
  readonly Code?: string;
}

/** The index of each cancelled item of a failed transaction, or undefined for another error. */
function cancellationCodes(error: unknown): (string | undefined)[] | undefined {
  if (!(error instanceof Error) || error.name !== "TransactionCanceledException") return undefined;
  const reasons = (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons;
  return (reasons ?? []).map((r) => r.Code);
}

async function read(deps: FulfilmentDeps, key: { pk: string; sk: string }) {
  return (
    await deps.db.send(new GetCommand({ TableName: deps.table, Key: key, ConsistentRead: true }))
  ).Item;
}

/** Writes a VOID tombstone unless the row exists; returns the row that is there afterwards. */
function voidUnlessPresent(
  deps: FulfilmentDeps,
  key: { pk: string; sk: string },
  ctx: StepContext,
) {
  return putUnlessPresent(deps.db, deps.table, key, {
    status: "VOID",
    voidedAt: deps.now().toISOString(),
    execution: ctx.execution,
  });
}

// ---------------------------------------------------------------------------------------------
// Inventory

export async function reserveInventory(
  order: OrderToFulfil,
  ctx: StepContext,
  deps: FulfilmentDeps,
): Promise<StepResult> {
  const key = orderRow(order.orderId, "reservation");
  const items: Tx[] = [
    markerPut(deps.table, key, {
      status: "RESERVED",
      items: order.items,
      reservedAt: deps.now().toISOString(),
      execution: ctx.execution,
    }),
    ...order.items.map(
      (item): Tx => ({
        Update: {
          TableName: deps.table,
          Key: stockRow(item.sku),
          UpdateExpression: "SET available = available - :q",
          ConditionExpression: "available >= :q",
          ExpressionAttributeValues: { ":q": item.quantity },
        },
      }),
    ),
    journalAppend(deps, order.orderId, "reserveInventory", ctx),
  ];
  try {
    await deps.db.send(new TransactWriteCommand({ TransactItems: items }));
    return { outcome: "ok", reserved: order.items.length };
  } catch (error) {
    const codes = cancellationCodes(error);
    if (!codes) throw error;
    if (codes[0] === "ConditionalCheckFailed") {
      const existing = await read(deps, key);
      if (existing?.status === "RESERVED") return { outcome: "ok", reserved: order.items.length };
      return {
        outcome: "rejected",
        code: "RESERVATION_VOIDED",
        reason: `the reservation for order ${order.orderId} was already ${String(existing?.status).toLowerCase()}`,
      };
    }
    const short = order.items.filter((_, i) => codes[i + 1] === "ConditionalCheckFailed");
    if (short.length) {
      return {
        outcome: "rejected",
        code: "OUT_OF_STOCK",
        reason: `not enough stock for ${short.map((i) => `${i.sku} (×${i.quantity})`).join(", ")}`,
      };
    }
    throw error;
  }
}

export async function releaseInventory(
  order: OrderToFulfil,
  ctx: StepContext,
  deps: FulfilmentDeps,
): Promise<CompensationResult> {
  const key = orderRow(order.orderId, "reservation");
  const existing = await voidUnlessPresent(deps, key, ctx);
  if (existing === undefined) return { outcome: "nothing-to-undo" };
  if (existing.status !== "RESERVED") return { outcome: "already-compensated" };
  const reserved = existing.items as Items;
  try {
    await deps.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: deps.table,
              Key: key,
              UpdateExpression: "SET #status = :released, releasedAt = :at",
              ConditionExpression: "#status = :reserved",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: {
                ":released": "RELEASED",
                ":reserved": "RESERVED",
                ":at": deps.now().toISOString(),
              },
            },
          },
          ...reserved.map(
            (item): Tx => ({
              Update: {
                TableName: deps.table,
                Key: stockRow(item.sku),
                UpdateExpression: "SET available = available + :q",
                ExpressionAttributeValues: { ":q": item.quantity },
              },
            }),
          ),
          journalAppend(deps, order.orderId, "releaseInventory", ctx),
        ],
      }),
    );
    return { outcome: "compensated", released: reserved.length };
  } catch (error) {
    // Another attempt released it between the read and the write.
    if (cancellationCodes(error)?.[0] === "ConditionalCheckFailed") {
      return { outcome: "already-compensated" };
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Payment

/** The key the (simulated) payment provider deduplicates charges by: one charge per order. */
export const paymentIdempotencyKey = (orderId: string) => `payment:${orderId}`;

export async function chargePayment(
  order: OrderToFulfil,
  ctx: StepContext,
  deps: FulfilmentDeps,
): Promise<StepResult> {
  if (order.amountCents > deps.paymentLimitCents) {
    return {
      outcome: "rejected",
      code: "PAYMENT_DECLINED",
      reason: `the card was declined: ${order.amountCents} cents is above the ${deps.paymentLimitCents} cents limit`,
    };
  }
  const key = orderRow(order.orderId, "payment");
  try {
    await deps.db.send(
      new TransactWriteCommand({
        TransactItems: [
          markerPut(deps.table, key, {
            status: "CHARGED",
            idempotencyKey: paymentIdempotencyKey(order.orderId),
            amountCents: order.amountCents,
            currency: order.currency,
            chargedAt: deps.now().toISOString(),
            execution: ctx.execution,
          }),
          journalAppend(deps, order.orderId, "chargePayment", ctx),
        ],
      }),
    );
    return { outcome: "ok", paymentId: paymentIdempotencyKey(order.orderId) };
  } catch (error) {
    if (cancellationCodes(error)?.[0] !== "ConditionalCheckFailed") throw error;
    const existing = await read(deps, key);
    if (existing?.status === "CHARGED") {
      if (existing.amountCents !== order.amountCents) {
        throw new PermanentError(
          `order ${order.orderId} was already charged ${String(existing.amountCents)} cents, not ${order.amountCents}`,
          { code: "PAYMENT_MISMATCH" },
        );
      }
      return { outcome: "ok", paymentId: paymentIdempotencyKey(order.orderId) };
    }
    return {
      outcome: "rejected",
      code: "PAYMENT_VOIDED",
      reason: `the payment for order ${order.orderId} was already ${String(existing?.status).toLowerCase()}`,
    };
  }
}

export async function refundPayment(
  order: OrderToFulfil,
  ctx: StepContext,
  deps: FulfilmentDeps,
): Promise<CompensationResult> {
  return undoStatus(order, ctx, deps, "payment", {
    from: "CHARGED",
    to: "REFUNDED",
    timestamp: "refundedAt",
    effect: "refundPayment",
  });
}

// ---------------------------------------------------------------------------------------------
// Order confirmation

export async function confirmOrder(
  order: OrderToFulfil,
  ctx: StepContext,
  deps: FulfilmentDeps,
): Promise<StepResult> {
  const key = orderRow(order.orderId, "confirmation");
  try {
    await deps.db.send(
      new TransactWriteCommand({
        TransactItems: [
          markerPut(deps.table, key, {
            status: "CONFIRMED",
            confirmedAt: deps.now().toISOString(),
            execution: ctx.execution,
          }),
          journalAppend(deps, order.orderId, "confirmOrder", ctx),
        ],
      }),
    );
    return { outcome: "ok" };
  } catch (error) {
    if (cancellationCodes(error)?.[0] !== "ConditionalCheckFailed") throw error;
    const existing = await read(deps, key);
    if (existing?.status === "CONFIRMED") return { outcome: "ok" };
    return {
      outcome: "rejected",
      code: "ORDER_CANCELLED",
      reason: `order ${order.orderId} was already ${String(existing?.status).toLowerCase()}`,
    };
  }
}

export async function cancelOrder(
  order: OrderToFulfil,
  ctx: StepContext,
  deps: FulfilmentDeps,
): Promise<CompensationResult> {
  return undoStatus(order, ctx, deps, "confirmation", {
    from: "CONFIRMED",
    to: "CANCELLED",
    timestamp: "cancelledAt",
    effect: "cancelOrder",
  });
}

/**
 * Undoes a step whose effect is its row's status: a VOID tombstone when the row is not there yet
 * (so the step, arriving late, refuses), the status change when the row holds the effect.
 */
async function undoStatus(
  order: OrderToFulfil,
  ctx: StepContext,
  deps: FulfilmentDeps,
  row: string,
  change: { from: string; to: string; timestamp: string; effect: string },
): Promise<CompensationResult> {
  const key = orderRow(order.orderId, row);
  const existing = await voidUnlessPresent(deps, key, ctx);
  if (existing === undefined) return { outcome: "nothing-to-undo" };
  if (existing.status !== change.from) return { outcome: "already-compensated" };
  return conditionalStatusChange(deps, order.orderId, key, ctx, change);
}

async function conditionalStatusChange(
  deps: FulfilmentDeps,
  orderId: string,
  key: { pk: string; sk: string },
  ctx: StepContext,
  change: { from: string; to: string; timestamp: string; effect: string },
): Promise<CompensationResult> {
  try {
    await deps.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: deps.table,
              Key: key,
              UpdateExpression: "SET #status = :to, #at = :now",
              ConditionExpression: "#status = :from",
              ExpressionAttributeNames: { "#status": "status", "#at": change.timestamp },
              ExpressionAttributeValues: {
                ":to": change.to,
                ":from": change.from,
                ":now": deps.now().toISOString(),
              },
            },
          },
          journalAppend(deps, orderId, change.effect, ctx),
        ],
      }),
    );
    return { outcome: "compensated" };
  } catch (error) {
    if (cancellationCodes(error)?.[0] === "ConditionalCheckFailed") {
      return { outcome: "already-compensated" };
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Notification

/**
 * Asks the notifications queue to tell the customer. The message goes first and may go more
 * than once (a retry after a crash): the notifications consumer delivers one notification id
 * once. The marker row then records the request once, with its journal entry.
 */
export async function notifyCustomer(
  order: OrderToFulfil,
  ctx: StepContext,
  deps: FulfilmentDeps,
): Promise<StepResult> {
  const notificationId = notificationIdFor(order.orderId);
  await deps.sqs.send(
    new SendMessageCommand(
      spoolMessage({
        queueUrl: deps.notificationsQueueUrl,
        correlationId: ctx.correlationId,
        body: {
          schemaVersion: 1,
          notificationId,
          channel: "email",
          recipient: order.customerEmail,
          template: "order-confirmed",
          data: { orderId: order.orderId, amountCents: order.amountCents },
        },
      }),
    ),
  );
  try {
    await deps.db.send(
      new TransactWriteCommand({
        TransactItems: [
          markerPut(deps.table, orderRow(order.orderId, "notification"), {
            notificationId,
            requestedAt: deps.now().toISOString(),
            execution: ctx.execution,
          }),
          journalAppend(deps, order.orderId, "notifyCustomer", ctx),
        ],
      }),
    );
  } catch (error) {
    if (cancellationCodes(error)?.[0] !== "ConditionalCheckFailed") throw error;
  }
  return { outcome: "ok", notificationId };
}
