export type { MonitorContext, ResourceKind } from "../runtime/resource-kind.js";
export { kebab, uniqueNames } from "./names.js";
export { SpoolMonitoring, type SpoolMonitoringProps } from "./spool-monitoring.js";
