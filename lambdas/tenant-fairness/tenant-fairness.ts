import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";

/** The longest work a test message may ask for: well inside the consumer's timeout. */
export const MAX_WORK_MS = 5_000;

/** A test deployment's tenant record: one of a run of messages, of one tenant. */
export const TenantWorkMessage = z.object({
  schemaVersion: z.literal(1),
  runId: z.string().min(1),
  tenantId: z.string().min(1),
  id: z.string().min(1),
  /** How long the business step takes: what holds one of the tenant's slots. */
  workMs: z.number().int().min(0).max(MAX_WORK_MS),
  correlationId: z.string().optional(),
});
export type TenantWorkMessage = z.infer<typeof TenantWorkMessage>;

export interface TenantWorkDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

/** One item per message under its run and tenant, so a test reads one tenant with one Query. */
export function tenantWorkKey(runId: string, tenantId: string, id: string) {
  return { pk: `tenant-fair#${runId}#${tenantId}`, sk: id };
}

/**
 * Works for `workMs`, then records when the effect landed (`doneAt`, epoch ms), counts the
 * execution and keeps the delivery number it ran on. The counter is not idempotent on purpose: a
 * record run twice shows as executions 2.
 */
export async function doTenantWork(
  message: TenantWorkMessage,
  attempt: number,
  deps: TenantWorkDeps,
): Promise<void> {
  await deps.sleep(message.workMs);
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: tenantWorkKey(message.runId, message.tenantId, message.id),
      UpdateExpression:
        "SET doneAt = if_not_exists(doneAt, :now) ADD executions :one, attempts :attempt",
      ExpressionAttributeValues: {
        ":now": deps.now().getTime(),
        ":one": 1,
        ":attempt": new Set([attempt]),
      },
    }),
  );
}
