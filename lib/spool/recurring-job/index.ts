export {
  type RecurringJobAlarmOptions,
  type RecurringJobMonitoringOptions,
  recurringJobKind,
} from "./monitoring.js";
export {
  type JobQueue,
  JobRunsTable,
  OverlapPolicy,
  RecurringJob,
  type RecurringJobProps,
  RecurringJobTarget,
  type RecurringJobTargetBinding,
} from "./recurring-job.js";
