import { createHash } from "node:crypto";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";

/** A test deployment's large record: `blob` makes it as large as the test wants. */
export const LargePayloadMessage = z.object({
  schemaVersion: z.literal(1),
  runId: z.string().min(1),
  id: z.string().min(1),
  blob: z.string(),
});
export type LargePayloadMessage = z.infer<typeof LargePayloadMessage>;

export interface LargePayloadDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
}

export function largePayloadKey(runId: string, id: string) {
  return { pk: `large-payload#${runId}`, sk: id };
}

/** The hash a test compares with the body it sent: SHA-256 of the message as JSON. */
export function bodyHash(message: LargePayloadMessage): string {
  return createHash("sha256").update(JSON.stringify(message), "utf8").digest("hex");
}

/**
 * Records the hash and size of the body the step was given, and counts the execution (not
 * idempotent on purpose: a record run twice shows as executions 2).
 */
export async function recordBody(
  message: LargePayloadMessage,
  deps: LargePayloadDeps,
): Promise<void> {
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: largePayloadKey(message.runId, message.id),
      UpdateExpression: "SET bodyHash = :hash, bodyBytes = :bytes ADD executions :one",
      ExpressionAttributeValues: {
        ":hash": bodyHash(message),
        ":bytes": Buffer.byteLength(JSON.stringify(message), "utf8"),
        ":one": 1,
      },
    }),
  );
}
