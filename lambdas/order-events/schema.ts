import * as z from "zod";

/** Version 1 of an order event on the orders FIFO queue (message group = orderId). */
export const OrderEvent = z.object({
  schemaVersion: z.literal(1),
  orderId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "orderId: 1–64 letters, digits, - or _"),
  /** Position of the event in its order's history, from 1; the idempotency key is (orderId, seq). */
  seq: z.number().int().positive().max(1_000_000),
  type: z.enum(["OrderPlaced", "OrderPaid", "OrderShipped", "OrderCancelled"]),
  customerId: z.string().min(1).max(64),
  amountCents: z.number().int().nonnegative().max(100_000_000).optional(),
  occurredAt: z.iso.datetime(),
  correlationId: z.string().max(128).optional(),
});
export type OrderEvent = z.infer<typeof OrderEvent>;

export function orderEventKey(event: OrderEvent): string {
  return `${event.orderId}#${event.seq}`;
}
