import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { type EffectFence, writeFenced } from "../../lib/spool/runtime/effect-fence.js";
import { countDuplicate } from "../../lib/spool/runtime/effect-once.js";
import { PermanentError } from "../../lib/spool/runtime/errors.js";
import type { OrderEvent } from "./schema.js";

export interface OrderProjectionDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now: () => Date;
}

export interface HistoryEntry {
  readonly seq: number;
  readonly type: OrderEvent["type"];
  readonly messageId: string;
  readonly correlationId: string;
  /** The delivery that applied it (1 = first try). */
  readonly attempt: number;
  readonly appliedAt: string;
}

export type ApplyResult =
  | { readonly applied: true; readonly status: string; readonly seq: number }
  | { readonly applied: false; readonly reason: "already-applied"; readonly seq: number };

const STATUS_AFTER: Record<OrderEvent["type"], string> = {
  OrderPlaced: "PLACED",
  OrderPaid: "PAID",
  OrderShipped: "SHIPPED",
  OrderCancelled: "CANCELLED",
};

export function orderProjectionKey(orderId: string) {
  return { pk: `order#${orderId}`, sk: "projection" };
}

/**
 * Applies an order event to the order's projection, once.
 *
 * The conditional write is this consumer's exactly-once boundary: an event applies only if its
 * sequence number is above the last applied one. Powertools idempotency in front of it answers
 * most duplicates without touching this table; this condition catches the rest (a duplicate that
 * arrives after the idempotency record expired, or after a crash between effect and record).
 */
export async function applyOrderEvent(
  event: OrderEvent,
  meta: {
    messageId: string;
    correlationId: string;
    attempt: number;
    /** The record's fence (the step's context): see writeFenced. */
    effectFence?: EffectFence | undefined;
  },
  deps: OrderProjectionDeps,
): Promise<ApplyResult> {
  const now = deps.now().toISOString();
  const entry: HistoryEntry = {
    seq: event.seq,
    type: event.type,
    messageId: meta.messageId,
    correlationId: meta.correlationId,
    attempt: meta.attempt,
    appliedAt: now,
  };
  const status = STATUS_AFTER[event.type];
  try {
    // Fenced: a delivery given up at its deadline and dead-lettered cannot apply it later. The
    // commit also completes the idempotency record with this result (one DynamoDB call fewer).
    const applied: ApplyResult = { applied: true, status, seq: event.seq };
    await writeFenced(
      deps.db,
      meta.effectFence,
      {
        Update: {
          TableName: deps.table,
          Key: orderProjectionKey(event.orderId),
          UpdateExpression:
            "SET lastSeq = :seq, #status = :status, customerId = :customer, updatedAt = :now, " +
            "history = list_append(if_not_exists(history, :empty), :entry)" +
            (event.amountCents !== undefined ? ", amountCents = :amount" : ""),
          ConditionExpression:
            "(attribute_not_exists(lastSeq) OR lastSeq < :seq) AND " +
            "(attribute_not_exists(#status) OR #status <> :cancelled)",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":seq": event.seq,
            ":status": status,
            ":customer": event.customerId,
            ":now": now,
            ":empty": [],
            ":entry": [entry],
            ":cancelled": "CANCELLED",
            ...(event.amountCents !== undefined ? { ":amount": event.amountCents } : {}),
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      },
      { completesWith: applied },
    );
    return applied;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const current = error.Item
      ? unmarshall(error.Item)
      : (
          await deps.db.send(
            new GetCommand({
              TableName: deps.table,
              Key: orderProjectionKey(event.orderId),
              ConsistentRead: true,
            }),
          )
        ).Item;
    const history = (current?.history ?? []) as HistoryEntry[];
    if (history.some((h) => h.seq === event.seq)) {
      await countDuplicate(
        deps.db,
        deps.table,
        orderProjectionKey(event.orderId),
        "duplicateDeliveries",
      );
      return { applied: false, reason: "already-applied", seq: event.seq };
    }
    if (current?.status === "CANCELLED") {
      throw new PermanentError(`order ${event.orderId} is cancelled; ${event.type} cannot apply`, {
        code: "ORDER_CLOSED",
        details: { orderId: event.orderId, seq: event.seq },
      });
    }
    throw new PermanentError(
      `event ${event.seq} of order ${event.orderId} arrived after event ${String(current?.lastSeq)}`,
      {
        code: "OUT_OF_ORDER",
        details: { orderId: event.orderId, seq: event.seq, lastSeq: current?.lastSeq },
      },
    );
  }
}
