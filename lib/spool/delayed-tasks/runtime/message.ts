import * as z from "zod";
import type { PermanentCode } from "../../runtime/error-codes.js";
import { PermanentError } from "../../runtime/errors.js";
import { MAX_TASK_MESSAGE_BYTES } from "../contract.js";

/**
 * The task message: what a task's target queue receives, whichever route delivered it, and the
 * refusal every part of the tasks runtime throws for bad input.
 */

export const TASK_MESSAGE_KIND = "spool.task";

/** The largest task message sent inline (contract.ts); a larger one needs a payload store. */
export { MAX_TASK_MESSAGE_BYTES };

/** How a task reached its queue: an SQS delay, a one-time schedule, or at once (already due). */
export type TaskRoute = "queue-delay" | "scheduler" | "immediate";

/** The message a task's target queue receives, whichever path delivered it. */
export const TaskMessage = z.object({
  kind: z.literal(TASK_MESSAGE_KIND),
  schemaVersion: z.literal(1),
  taskKey: z.string().min(1).max(512),
  /** When the task was due (ISO 8601, UTC). */
  dueAt: z.iso.datetime(),
  /** Of whoever scheduled the task. */
  correlationId: z.string().min(1).max(128),
  route: z.enum(["queue-delay", "scheduler", "immediate"]),
  payload: z.unknown(),
});
export type TaskMessage = z.infer<typeof TaskMessage>;

/** A TaskMessage whose payload is validated by the consumer's own schema. */
export function taskMessageOf<P extends z.ZodType>(payload: P) {
  return TaskMessage.extend({ payload });
}

/** The body of a task's message, as the scheduler sends it on either route. */
export function taskMessage(
  task: { readonly key: string; readonly dueAt: string; readonly correlationId: string },
  route: TaskRoute,
  payload: unknown,
): TaskMessage {
  return {
    kind: TASK_MESSAGE_KIND,
    schemaVersion: 1,
    taskKey: task.key,
    dueAt: task.dueAt,
    correlationId: task.correlationId,
    route,
    payload,
  };
}

/** Refuses a task: bad input cannot be fixed by retrying, so it is permanent, with a rule code. */
export function refuseTask(
  code: PermanentCode,
  message: string,
  details: Record<string, unknown> = {},
): never {
  throw new PermanentError(message, { code, details });
}
