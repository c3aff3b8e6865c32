export {
  DEFAULT_EVENT_OFFLOAD_THRESHOLD_BYTES,
  type EventReplayConfig,
  type EventReplaySubscription,
  OUTBOX_EXPIRY_ATTRIBUTE,
  OUTBOX_KEY_ATTRIBUTE,
  OUTBOX_ROW_EVENT_MAX_BYTES,
  SPOOL_EVENT_ARCHIVE_PATTERN,
} from "./contract.js";
export { type OutboxAlarmOptions, type OutboxMonitoringOptions, outboxKind } from "./monitoring.js";
export {
  type OffloadPayloadStore,
  TransactionalOutbox,
  type TransactionalOutboxProps,
} from "./transactional-outbox.js";
