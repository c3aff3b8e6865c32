import { transitionTable } from "../../runtime/transitions.js";
import type { TaskStatus } from "./record.js";

/** The source standing for "no task record yet" (a first schedule). */
export const NO_TASK = "(none)" as const;

export type TaskTransition = "schedule" | "cancel" | "claim" | "complete";

/**
 * Every status change of a task, as the one table its conditional writes come from:
 *
 *   (none) ──schedule──► SCHEDULED ──cancel──► CANCELLED      (a later delivery is dropped)
 *                            └──claim──► DELIVERING ──complete──► DELIVERED
 *
 * `claim` may also start from DELIVERING: a redelivery after a crash mid-effect takes the claim
 * again and runs the effect again, which is why the effect must be idempotent by task key.
 */
export const TASK_TABLE = transitionTable<TaskStatus | typeof NO_TASK, TaskTransition>({
  subject: "task",
  statusAttribute: "status",
  absent: {
    source: NO_TASK,
    expression: "attribute_not_exists(#key)",
    names: { "#key": "key" },
  },
  transitions: {
    schedule: { from: [NO_TASK], to: "SCHEDULED" },
    cancel: { from: ["SCHEDULED"], to: "CANCELLED" },
    claim: { from: ["SCHEDULED", "DELIVERING"], to: "DELIVERING" },
    complete: { from: ["DELIVERING"], to: "DELIVERED" },
  },
});
