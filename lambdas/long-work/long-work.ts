import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";

/** A test deployment's slow record: it works `workSeconds` and counts every execution. */
export const LongWorkMessage = z.object({
  schemaVersion: z.literal(1),
  id: z.string().min(1),
  // Bounded by the consumer's timeout (lib/example/parts/messaging.ts).
  workSeconds: z.number().int().min(0).max(50),
  correlationId: z.string().optional(),
});
export type LongWorkMessage = z.infer<typeof LongWorkMessage>;

export interface LongWorkDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly sleep: (ms: number) => Promise<void>;
}

export function longWorkKey(id: string) {
  return { pk: `long-work#${id}`, sk: "effect" };
}

/**
 * Counts the execution when it starts (`executions`, with the delivery number it started on),
 * works, then counts the finish (`finished`). The counters are deliberately not idempotent: a
 * second worker running the same message while the first still works shows as executions 2.
 */
export async function doLongWork(
  message: LongWorkMessage,
  attempt: number,
  deps: LongWorkDeps,
): Promise<void> {
  const count = (field: "executions" | "finished") =>
    deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: longWorkKey(message.id),
        UpdateExpression: "ADD #field :one, attempts :attempt",
        ExpressionAttributeNames: { "#field": field },
        ExpressionAttributeValues: { ":one": 1, ":attempt": new Set([attempt]) },
      }),
    );
  await count("executions");
  await deps.sleep(message.workSeconds * 1000);
  await count("finished");
}
