export { kebab, uniqueNames } from "./names.js";
export type { MonitorContext, ResourceKind } from "./resource-kind.js";
export { SpoolMonitoring, type SpoolMonitoringProps } from "./spool-monitoring.js";
