export { OUTBOX_EXPIRY_ATTRIBUTE, OUTBOX_KEY_ATTRIBUTE } from "./contract.js";
export { type OutboxAlarmOptions, type OutboxMonitoringOptions, outboxKind } from "./monitoring.js";
export { TransactionalOutbox, type TransactionalOutboxProps } from "./transactional-outbox.js";
