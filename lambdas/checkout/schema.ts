import * as z from "zod";

const SAFE_ID = /^[A-Za-z0-9_:-]{1,128}$/;

/** What a caller sends to check out. Unknown fields are refused: a typo must not be ignored. */
export const CheckoutRequest = z.strictObject({
  /**
   * The caller's key for this checkout attempt. Retrying with the same key (after a timeout, a
   * lost response) returns the first attempt's result instead of placing a second order.
   * Scoped to the customer, like a payment provider scopes keys to an account.
   */
  idempotencyKey: z.string().regex(SAFE_ID, "idempotencyKey: 1–128 letters, digits or _ : -"),
  customerId: z.string().regex(SAFE_ID, "customerId: 1–128 letters, digits or _ : -"),
  email: z.email().max(254),
  currency: z.string().regex(/^[A-Z]{3}$/, "currency: an ISO 4217 code such as EUR"),
  items: z
    .array(
      z.strictObject({
        sku: z.string().regex(SAFE_ID, "sku: 1–128 letters, digits or _ : -"),
        quantity: z.number().int().min(1).max(1_000),
        unitPriceCents: z.number().int().min(0).max(100_000_000),
      }),
    )
    .min(1)
    .max(100),
  /** Carried onto the order and its events; one is made when absent. */
  correlationId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional(),
});
export type CheckoutRequest = z.infer<typeof CheckoutRequest>;

/** The event type and version the checkout publishes. */
export const ORDER_PLACED = { type: "OrderPlaced", schemaVersion: "1.0" } as const;
export const CHECKOUT_SOURCE = "spool.checkout";

/**
 * `OrderPlaced` 1.0, the contract the checkout publishes. Consumers validate only the fields
 * they use (tolerant readers), so adding a field is a minor version and breaks nobody.
 */
export const OrderPlacedData = z.object({
  orderId: z.string(),
  customerId: z.string(),
  email: z.string(),
  currency: z.string(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number(), unitPriceCents: z.number() })),
  totalCents: z.number().int(),
  placedAt: z.string(),
});
export type OrderPlacedData = z.infer<typeof OrderPlacedData>;
