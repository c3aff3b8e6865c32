import { type PayloadPointer, payloadKey, pointerEnvelope } from "../../runtime/payload-pointer.js";
import { DEFAULT_TASK_OFFLOAD_THRESHOLD_BYTES } from "../contract.js";
import type { TaskDependencies } from "./config.js";
import { type TaskMessage, type TaskRoute, taskMessage } from "./message.js";

/**
 * Large task payloads through the claim-check (the PayloadStore given to DelayedTasks).
 *
 * The object is the whole task message as it is sent (its route included), named by its SHA-256
 * (`payloadKey`), and the message that travels, by SQS or as the Scheduler's input, is the task's
 * envelope without its payload plus the pointer (`pointerEnvelope`): the format the toolkit's
 * consumers already resolve for events, before schema validation, checking the content against
 * the hash its key names. So a target consumer with the store (QueueConsumer's `payloadStore`)
 * sees the task message exactly as if it had come inline; one without it dead-letters the task at
 * once as PAYLOAD_UNRESOLVABLE, as it does a missing or altered object.
 *
 * The object is written when the task is dispatched, before its message is sent, so no message
 * ever points at nothing; the task record then holds the pointer, never the payload (DynamoDB's
 * items stop at 400 KB). A dispatch repeated by a later scheduleTask call (the first died before
 * it was confirmed) writes the same object again for the same route.
 */

/** The body a task's target receives, and the pointer it carries when the payload is stored. */
export interface TaskBody {
  readonly body: string;
  readonly pointer?: PayloadPointer;
}

/** The task message's size as it would be sent inline (UTF-8 JSON). */
export function taskMessageBytes(message: TaskMessage): number {
  return Buffer.byteLength(JSON.stringify(message), "utf8");
}

/**
 * Whether a task message goes through the payload store: only with a store, and only above its
 * threshold. scheduleTask decides once, when it records the task (a record holds either the
 * payload or, once dispatched, its pointer).
 */
export function offloads(messageBytes: number, deps: Pick<TaskDependencies, "config">): boolean {
  const { payloadBucket, offloadThresholdBytes } = deps.config;
  return (
    payloadBucket !== undefined &&
    messageBytes > (offloadThresholdBytes ?? DEFAULT_TASK_OFFLOAD_THRESHOLD_BYTES)
  );
}

/** The body to send for `task` on `route`: inline, or stored first and sent as a pointer. */
export async function taskBody(
  task: { readonly key: string; readonly dueAt: string; readonly correlationId: string },
  route: TaskRoute,
  payload: unknown,
  offloaded: boolean,
  deps: Pick<TaskDependencies, "config" | "payloadObjects">,
): Promise<TaskBody> {
  const message = taskMessage(task, route, payload);
  const json = JSON.stringify(message);
  if (!offloaded) return { body: json };
  const bucket = deps.config.payloadBucket;
  const objects = deps.payloadObjects;
  if (bucket === undefined || objects === undefined) {
    // scheduleTask checks this first (assertPayloadObjects); reached only by a direct caller.
    throw new Error("a task recorded as offloaded needs config.payloadBucket and payloadObjects");
  }
  const pointer = { bucket, key: payloadKey(json) };
  await objects.put(pointer, json);
  const { payload: _payload, ...envelope } = message;
  return { body: pointerEnvelope(envelope, pointer, Buffer.byteLength(json, "utf8")), pointer };
}
