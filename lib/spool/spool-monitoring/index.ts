export {
  type ConsumerAlarmOptions,
  type ConsumerMonitoringOptions,
  consumerKind,
} from "./consumer-monitoring.js";
export { kebab, uniqueNames } from "./names.js";
export {
  type QueueAlarmOptions,
  type QueueMonitoringOptions,
  queueKind,
} from "./queue-monitoring.js";
export type { MonitorContext, ResourceKind } from "./resource-kind.js";
export { SpoolMonitoring, type SpoolMonitoringProps } from "./spool-monitoring.js";
