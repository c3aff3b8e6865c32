export {
  DelayedTasks,
  type DelayedTasksProps,
  TASK_EXPIRY_ATTRIBUTE,
  TASK_KEY_ATTRIBUTE,
} from "./delayed-tasks.js";
