import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { putOnce } from "../../lib/spool/runtime/effect-once.js";
import { eventSchema, type SpoolEvent } from "../../lib/spool/runtime/envelope.js";
import type { RecordContext } from "../../lib/spool/runtime/sqs-consumer.js";

/** The fields of OrderPlaced 1.x that payments reads (a tolerant reader: the rest is ignored). */
export const PaymentsOrderPlaced = eventSchema({
  type: "OrderPlaced",
  major: 1,
  data: z.object({
    orderId: z.string().min(1),
    customerId: z.string().min(1),
    currency: z.string().regex(/^[A-Z]{3}$/),
    totalCents: z.number().int().min(0),
  }),
});
export type PaymentsOrderPlaced = z.infer<typeof PaymentsOrderPlaced>;

export interface PaymentDeps {
  readonly db: DynamoDBDocumentClient;
  /** The effects table stands in for the payment provider: one authorization row per order. */
  readonly table: string;
  readonly now: () => Date;
}

export type AuthorizationResult =
  | { readonly authorized: true; readonly orderId: string; readonly amountCents: number }
  | { readonly authorized: false; readonly reason: "already-authorized"; readonly orderId: string };

export function authorizationKey(orderId: string) {
  return { pk: `payment#${orderId}`, sk: "authorization" };
}

/**
 * Authorizes the order's total with the (simulated) payment provider.
 *
 * Exactly-once boundary: the conditional put on the order id, the key a real provider would
 * take as its idempotency key. Powertools idempotency by event id in front of it saves the
 * provider call for re-deliveries; the conditional put also holds when an event is re-published
 * after the idempotency record expired. `duplicateAuthorizations` counts the refused calls.
 */
export async function authorizePayment(
  event: SpoolEvent<PaymentsOrderPlaced["data"]>,
  ctx: Pick<RecordContext, "messageId" | "correlationId" | "attempt" | "messageGroupId">,
  deps: PaymentDeps,
): Promise<AuthorizationResult> {
  const { orderId, customerId, currency, totalCents } = event.data;
  const authorized = await putOnce(deps.db, {
    table: deps.table,
    key: authorizationKey(orderId),
    item: {
      orderId,
      customerId,
      currency,
      amountCents: totalCents,
      eventId: event.id,
      schemaVersion: event.schemaVersion,
      messageId: ctx.messageId,
      messageGroupId: ctx.messageGroupId,
      correlationId: ctx.correlationId,
      attempt: ctx.attempt,
      authorizedAt: deps.now().toISOString(),
    },
    duplicateCounter: "duplicateAuthorizations",
  });
  return authorized
    ? { authorized: true, orderId, amountCents: totalCents }
    : { authorized: false, reason: "already-authorized", orderId };
}
