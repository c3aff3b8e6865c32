import * as z from "zod";

const Sku = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "sku: 1–64 letters, digits, - or _");

/** Version 1 of a request to fulfil an order (the fulfilment queue's messages). */
export const FulfilmentRequest = z.object({
  schemaVersion: z.literal(1),
  /** The business key: one order is fulfilled at most once. */
  orderId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "orderId: 1–64 letters, digits, - or _"),
  customerId: z.string().min(1).max(64),
  customerEmail: z.email().max(254),
  items: z
    .array(z.object({ sku: Sku, quantity: z.number().int().min(1).max(1_000) }))
    .min(1)
    .max(25)
    .refine((items) => new Set(items.map((i) => i.sku)).size === items.length, {
      message: "items: each sku at most once",
    }),
  amountCents: z.number().int().positive().max(100_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/, "currency: an ISO 4217 code"),
  correlationId: z.string().max(128).optional(),
  /**
   * Test hook: fault directives by step (`{"chargePayment": "transient:2"}`). Honoured only in
   * test deployments against a local emulator; everywhere else the starter drops them.
   */
  faults: z.record(z.string().max(64), z.string().max(64)).optional(),
});
export type FulfilmentRequest = z.infer<typeof FulfilmentRequest>;

/** What each step sees: the request without its transport fields. */
export const OrderToFulfil = FulfilmentRequest.omit({ correlationId: true, faults: true });
export type OrderToFulfil = z.infer<typeof OrderToFulfil>;

/** The kind of job a fulfilment is, in the jobs table (`order-fulfilment:<orderId>`). */
export const FULFILMENT_JOB_KIND = "order-fulfilment";
