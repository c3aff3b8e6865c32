export { OUTBOX_EXPIRY_ATTRIBUTE, OUTBOX_KEY_ATTRIBUTE } from "./runtime/outbox.js";
export { TransactionalOutbox, type TransactionalOutboxProps } from "./transactional-outbox.js";
