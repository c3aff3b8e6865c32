/** What the checkout function and the stack that grants it access agree on (SDK-free). */

/** The checkout's records in the shared idempotency table; its IAM grant is limited to them. */
export const CHECKOUT_KEY_PREFIX = "checkout#";
