import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";

/** A test deployment's laned record: one of a run sent to the high or the low lane. */
export const LanedMessage = z.object({
  schemaVersion: z.literal(1),
  runId: z.string().min(1),
  id: z.string().min(1),
  /** The lane it was sent to (the handler cannot tell otherwise: every lane runs this code). */
  lane: z.string().min(1),
  /** How long the step works, so a test can make a backlog that takes a while to drain. */
  workMs: z.number().int().min(0).max(2_000),
  correlationId: z.string().optional(),
});
export type LanedMessage = z.infer<typeof LanedMessage>;

export interface LanedDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

/** One item per message under its run, so a test reads a whole run with one Query. */
export function lanedKey(runId: string, id: string) {
  return { pk: `priority-lanes#${runId}`, sk: id };
}

/**
 * Works for `workMs`, then records when it finished (`finishedAt`, epoch ms) and its lane, and
 * counts the execution (not idempotent on purpose: a record run twice shows as executions 2).
 */
export async function workThenRecord(message: LanedMessage, deps: LanedDeps): Promise<void> {
  await deps.sleep(message.workMs);
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: lanedKey(message.runId, message.id),
      UpdateExpression:
        "SET finishedAt = if_not_exists(finishedAt, :now), lane = :lane ADD executions :one",
      ExpressionAttributeValues: { ":now": deps.now().getTime(), ":lane": message.lane, ":one": 1 },
    }),
  );
}
