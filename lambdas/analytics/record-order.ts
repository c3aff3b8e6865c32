import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { markerPut } from "../../lib/spool/runtime/effect-once.js";
import { eventSchema, type SpoolEvent } from "../../lib/spool/runtime/envelope.js";
import type { RecordContext } from "../../lib/spool/runtime/sqs-consumer.js";

/** The fields of OrderPlaced 1.x analytics reads. */
export const AnalyticsOrderPlaced = eventSchema({
  type: "OrderPlaced",
  major: 1,
  data: z.object({
    orderId: z.string().min(1),
    customerId: z.string().min(1),
    currency: z.string().regex(/^[A-Z]{3}$/),
    totalCents: z.number().int().min(0),
    placedAt: z.iso.datetime({ offset: true }),
  }),
});
export type AnalyticsOrderPlaced = z.infer<typeof AnalyticsOrderPlaced>;

export interface AnalyticsDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now: () => Date;
}

export type CountResult = { readonly counted: boolean; readonly orderId: string };

export function countedOrderKey(orderId: string) {
  return { pk: `analytics#order#${orderId}`, sk: "counted" };
}

/** A customer's running totals in one currency. */
export function customerStatsKey(customerId: string, currency: string) {
  return { pk: `analytics#customer#${customerId}`, sk: `stats#${currency}` };
}

/**
 * Adds the order to its customer's running totals.
 *
 * An increment is not idempotent by itself, so the exactly-once boundary is a marker keyed by
 * the order id written in the same transaction as the increment: a second delivery (or a
 * re-publish after the idempotency record expired) finds the marker and the transaction adds
 * nothing.
 */
export async function recordOrder(
  event: SpoolEvent<AnalyticsOrderPlaced["data"]>,
  ctx: Pick<RecordContext, "correlationId">,
  deps: AnalyticsDeps,
): Promise<CountResult> {
  const { orderId, customerId, currency, totalCents, placedAt } = event.data;
  try {
    await deps.db.send(
      new TransactWriteCommand({
        TransactItems: [
          markerPut(deps.table, countedOrderKey(orderId), {
            eventId: event.id,
            correlationId: ctx.correlationId,
            countedAt: deps.now().toISOString(),
          }),
          {
            Update: {
              TableName: deps.table,
              Key: customerStatsKey(customerId, currency),
              UpdateExpression:
                "ADD orders :one, revenueCents :total SET lastOrderAt = :placedAt, lastOrderId = :orderId",
              ExpressionAttributeValues: {
                ":one": 1,
                ":total": totalCents,
                ":placedAt": placedAt,
                ":orderId": orderId,
              },
            },
          },
        ],
      }),
    );
    return { counted: true, orderId };
  } catch (error) {
    if (
      error instanceof TransactionCanceledException &&
      error.CancellationReasons?.[0]?.Code === "ConditionalCheckFailed"
    ) {
      return { counted: false, orderId };
    }
    throw error;
  }
}
