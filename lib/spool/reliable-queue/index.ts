export type { DeadLetterExpiryOptions } from "./dead-letter-expiry.js";
export {
  type QueueAlarmOptions,
  type QueueMonitoringOptions,
  queueKind,
} from "./monitoring.js";
export { ReliableQueue, type ReliableQueueProps } from "./reliable-queue.js";
