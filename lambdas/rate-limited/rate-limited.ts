import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";

/** A test deployment's rate-limited record: one of a run of messages sent together. */
export const RateLimitedMessage = z.object({
  schemaVersion: z.literal(1),
  runId: z.string().min(1),
  id: z.string().min(1),
  correlationId: z.string().optional(),
});
export type RateLimitedMessage = z.infer<typeof RateLimitedMessage>;

export interface RateLimitedDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now: () => Date;
}

/** One item per message under its run, so a test reads a whole run with one Query. */
export function rateLimitedKey(runId: string, id: string) {
  return { pk: `rate-limited#${runId}`, sk: id };
}

/**
 * Records when the step started (`startedAt`, epoch ms: what the rate limit paces), counts the
 * execution and keeps the delivery number it ran on. The counter is not idempotent on purpose: a
 * record run twice shows as executions 2.
 */
export async function recordStart(
  message: RateLimitedMessage,
  attempt: number,
  deps: RateLimitedDeps,
): Promise<void> {
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: rateLimitedKey(message.runId, message.id),
      UpdateExpression:
        "SET startedAt = if_not_exists(startedAt, :now) ADD executions :one, attempts :attempt",
      ExpressionAttributeValues: {
        ":now": deps.now().getTime(),
        ":one": 1,
        ":attempt": new Set([attempt]),
      },
    }),
  );
}
