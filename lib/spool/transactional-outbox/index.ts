export {
  DEFAULT_EVENT_OFFLOAD_THRESHOLD_BYTES,
  OUTBOX_EXPIRY_ATTRIBUTE,
  OUTBOX_KEY_ATTRIBUTE,
  OUTBOX_ROW_EVENT_MAX_BYTES,
} from "./contract.js";
export { type OutboxAlarmOptions, type OutboxMonitoringOptions, outboxKind } from "./monitoring.js";
export {
  type OffloadPayloadStore,
  TransactionalOutbox,
  type TransactionalOutboxProps,
} from "./transactional-outbox.js";
