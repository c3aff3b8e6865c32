import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import type { DependencyBreaker } from "../../lib/spool/runtime/circuit-breaker.js";
import { TransientError } from "../../lib/spool/runtime/errors.js";
import { dependencyKey, guardedKey } from "./contract.js";

/** A test deployment's guarded record: one of a run of messages sent together. */
export const GuardedMessage = z.object({
  schemaVersion: z.literal(1),
  runId: z.string().min(1),
  /** Not starting with `#`: the run's dependency item has that sort key. */
  id: z.string().regex(/^[^#]/),
  correlationId: z.string().optional(),
});
export type GuardedMessage = z.infer<typeof GuardedMessage>;

export interface GuardedDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly breaker: DependencyBreaker;
}

/**
 * The stand-in for a downstream provider: each call is counted, and fails while the run's
 * switch says so. The count is what the provider would see, so the test can bound the calls an
 * open breaker lets through.
 */
async function callDependency(runId: string, deps: GuardedDeps): Promise<void> {
  const { Attributes } = await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: dependencyKey(runId),
      UpdateExpression: "ADD calls :one",
      ExpressionAttributeValues: { ":one": 1 },
      ReturnValues: "ALL_NEW",
    }),
  );
  if (Attributes?.failing === true) {
    throw new TransientError("the dependency is down (its fault switch is on)", {
      code: "INJECTED_TRANSIENT",
    });
  }
}

/**
 * Calls the dependency through the breaker, then records the effect and the delivery it ran on.
 * The counter is not idempotent on purpose: a record run twice shows as executions 2.
 */
export async function guardedStep(
  message: GuardedMessage,
  attempt: number,
  deps: GuardedDeps,
): Promise<void> {
  await deps.breaker.call(() => callDependency(message.runId, deps));
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: guardedKey(message.runId, message.id),
      UpdateExpression: "ADD executions :one, attempts :attempt",
      ExpressionAttributeValues: { ":one": 1, ":attempt": new Set([attempt]) },
    }),
  );
}
