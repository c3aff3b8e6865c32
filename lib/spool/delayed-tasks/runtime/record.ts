import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { PayloadPointer } from "../../runtime/payload-pointer.js";
import type { TasksConfig } from "../contract.js";
import type { TaskRoute } from "./message.js";

/**
 * The task record in the tasks table, shared by scheduling, cancelling and delivery.
 *
 * Task record states:
 *   SCHEDULED ──cancelTask──► CANCELLED            (a later delivery is dropped and counted)
 *       └──deliverTask──► DELIVERING ──► DELIVERED (a later delivery is a duplicate: no effect)
 * DELIVERING is the claim a consumer takes before the effect; a redelivery after a crash finds
 * it and runs the effect again, so the effect itself must be idempotent by task key. Every write
 * that changes a status takes its condition from TASK_TABLE (task-states.ts).
 */

export type TaskStatus = "SCHEDULED" | "CANCELLED" | "DELIVERING" | "DELIVERED";

export interface Task {
  readonly key: string;
  readonly status: TaskStatus;
  readonly dueAt: string;
  readonly route: TaskRoute;
  readonly target: string;
  readonly correlationId: string;
  readonly scheduleName?: string;
  readonly payloadHash: string;
  readonly createdAt: string;
  readonly dispatchedAt?: string;
  readonly cancelledAt?: string;
  readonly deliveredAt?: string;
  /** Deliveries that claimed the task (more than one only after a crash mid-effect). */
  readonly deliveries?: number;
  /** Deliveries that arrived after the task was cancelled and were dropped. */
  readonly droppedDeliveries?: number;
  /** Deliveries that arrived after it was delivered. */
  readonly duplicateDeliveries?: number;
  /**
   * Set when the task message was too large to send inline and went through the payload store:
   * its size in bytes. The record then holds no payload.
   */
  readonly offloadedBytes?: number;
  /** Where the offloaded message is stored, once the task was dispatched (offload.ts). */
  readonly payloadPointer?: PayloadPointer;
}

/** The stored record: the public task plus what only the runtime needs. */
export interface TaskRecord extends Task {
  /** The payload, when the message was sent inline; absent when it was offloaded. */
  readonly payload?: unknown;
  readonly messageGroupId?: string;
  readonly expiresAt: number;
}

export interface TaskTableDependencies {
  readonly db: DynamoDBDocumentClient;
  readonly config: Pick<TasksConfig, "table">;
}

/** The record without what only the runtime needs (the payload, TTL, FIFO group). */
export function publicTask(
  record: Task & { payload?: unknown; expiresAt?: number; messageGroupId?: string },
): Task {
  const { payload: _payload, expiresAt: _expires, messageGroupId: _group, ...task } = record;
  return task;
}

/** The raw record, read consistently (a condition just failed on it, or a caller asks). */
export async function readTask(key: string, deps: TaskTableDependencies) {
  const { Item } = await deps.db.send(
    new GetCommand({ TableName: deps.config.table, Key: { key }, ConsistentRead: true }),
  );
  return Item;
}

/** The task's record, or undefined when the key is unknown (or its record expired). */
export async function getTask(key: string, deps: TaskTableDependencies): Promise<Task | undefined> {
  const item = await readTask(key, deps);
  return item ? publicTask(item as Task) : undefined;
}
