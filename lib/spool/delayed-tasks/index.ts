export { TASK_EXPIRY_ATTRIBUTE, TASK_KEY_ATTRIBUTE, type TasksConfig } from "./contract.js";
export { DelayedTasks, type DelayedTasksProps } from "./delayed-tasks.js";
export {
  type DelayedTasksAlarmOptions,
  type DelayedTasksMonitoringOptions,
  delayedTasksKind,
} from "./monitoring.js";
