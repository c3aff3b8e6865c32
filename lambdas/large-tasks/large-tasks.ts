import { createHash } from "node:crypto";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { taskMessageOf } from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import { canonicalJson } from "../../lib/spool/runtime/canonical-json.js";

/** A test deployment's large task payload: `blob` makes it as large as the test wants. */
export const LargeTaskPayload = z.object({ runId: z.string().min(1), blob: z.string() });
export type LargeTaskPayload = z.infer<typeof LargeTaskPayload>;

/** A large task on the large-tasks queue, whichever way it travelled (inline or as a pointer). */
export const LargeTask = taskMessageOf(LargeTaskPayload);
export type LargeTask = z.infer<typeof LargeTask>;

export function largeTaskKey(taskKey: string) {
  return { pk: `large-task#${taskKey}`, sk: "delivery" };
}

/** The hash a test compares with the payload it scheduled: SHA-256 of its canonical JSON. */
export function payloadSha256(payload: unknown): string {
  return createHash("sha256").update(canonicalJson(payload), "utf8").digest("hex");
}

export interface LargeTaskDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
}

/**
 * Records the hash and size of the payload the step was given and counts the execution (not
 * idempotent on purpose: a task run twice shows as executions 2).
 */
export async function recordLargeTask(task: LargeTask, deps: LargeTaskDeps): Promise<void> {
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: largeTaskKey(task.taskKey),
      UpdateExpression:
        "SET payloadHash = :hash, payloadBytes = :bytes, #route = :route ADD executions :one",
      ExpressionAttributeNames: { "#route": "route" },
      ExpressionAttributeValues: {
        ":hash": payloadSha256(task.payload),
        ":bytes": Buffer.byteLength(JSON.stringify(task.payload), "utf8"),
        ":route": task.route,
        ":one": 1,
      },
    }),
  );
}
