/**
 * The order domain's error codes, next to the library's (lib/spool/runtime/error-codes.ts): what
 * its business steps throw or answer with. Operators filter dead letters and jobs by them, so
 * they are a contract like the library's.
 *
 * SDK-free: the `spool` CLI reads this catalogue to refuse a code that does not exist.
 */
import type { ErrorCodeCatalogue } from "../lib/spool/runtime/error-codes.js";

export const ORDER_ERROR_CODES = {
  // Queue and event consumers.
  RECIPIENT_SUPPRESSED: {
    kind: "permanent",
    meaning: "the notification's recipient is on the suppression list",
  },
  ORDER_CLOSED: {
    kind: "permanent",
    meaning: "the order is cancelled; a later event cannot apply to it",
  },
  OUT_OF_ORDER: {
    kind: "permanent",
    meaning: "an order event arrived after a later one of the same order",
  },

  // Checkout.
  CHECKOUT_CANCELLED: {
    kind: "transient",
    meaning: "the checkout transaction was cancelled; retry with the same key",
  },
  IDEMPOTENCY_RECORD_RACE: {
    kind: "transient",
    meaning: "the checkout's idempotency record changed while it was read; retry",
  },

  // Fulfilment saga steps (a rejection makes the saga compensate).
  PAYMENT_DECLINED: { kind: "permanent", meaning: "the card was declined (above the limit)" },
  PAYMENT_MISMATCH: {
    kind: "permanent",
    meaning: "the order was already charged a different amount",
  },
  PAYMENT_VOIDED: { kind: "permanent", meaning: "the payment was already refunded or voided" },
  OUT_OF_STOCK: { kind: "permanent", meaning: "not enough stock for the order's items" },
  RESERVATION_VOIDED: {
    kind: "permanent",
    meaning: "the order's inventory reservation was already released",
  },
  ORDER_CANCELLED: {
    kind: "permanent",
    meaning: "the order was already cancelled; it cannot be confirmed",
  },
} as const satisfies ErrorCodeCatalogue;

type OrderErrorCodes = typeof ORDER_ERROR_CODES;

// Registers the domain's codes with the library's error classes: `new PermanentError(msg,
// { code: "RECIPIENT_SUPPRESSED" })` type-checks without a cast, a typo or a code of the wrong
// kind does not, and a code clashing with a library code is a compile error here.
declare module "../lib/spool/runtime/error-codes.js" {
  interface ErrorCodeRegistry extends OrderErrorCodes {}
}
