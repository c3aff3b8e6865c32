export type { QueueConsumerJobs } from "./jobs.js";
export {
  type ConsumerAlarmOptions,
  type ConsumerMonitoringOptions,
  consumerKind,
} from "./monitoring.js";
export {
  type ConsumedPayloadStore,
  type ConsumedQueue,
  QueueConsumer,
  type QueueConsumerProps,
  type RetryBackoff,
  type VisibilityHeartbeat,
} from "./queue-consumer.js";
export type { RateLimit, RateLimitKey } from "./rate-limit.js";
export type { TenantFairness } from "./tenant-fairness.js";
