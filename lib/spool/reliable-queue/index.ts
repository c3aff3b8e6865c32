export {
  type QueueAlarmOptions,
  type QueueMonitoringOptions,
  queueKind,
} from "./monitoring.js";
export { ReliableQueue, type ReliableQueueProps } from "./reliable-queue.js";
