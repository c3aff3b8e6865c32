import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import type {
  CompensationResult,
  StepContext,
  StepResult,
} from "../../lib/spool/saga-workflow/runtime/saga-step.js";

/**
 * The approval saga's business steps (a test-hook part: lib/example/parts/approvals.ts):
 * reserve a slot, wait for a person's answer (lib/spool/saga-workflow/runtime/callback.ts),
 * then finish. Each call counts itself on a row of the effects table, so a test can tell that
 * every action and compensation ran exactly once.
 */

export const ApprovalRequest = z.object({ requestId: z.string().min(1).max(100) });
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** The job kind of an approval (its job id is `approval:<requestId>`). */
export const APPROVAL_JOB_KIND = "approval";

export interface ApprovalDeps {
  readonly db: DynamoDBDocumentClient;
  /** The effects table. */
  readonly table: string;
}

/** The row counting one step's calls in one phase: `approval#<id>` / `action:reserveSlot`. */
export const callRow = (requestId: string, phase: string, step: string) => ({
  pk: `approval#${requestId}`,
  sk: `${phase}:${step}`,
});

async function countCall(
  request: ApprovalRequest,
  ctx: StepContext,
  deps: ApprovalDeps,
): Promise<void> {
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: callRow(request.requestId, ctx.phase, ctx.step),
      UpdateExpression: "ADD #calls :one SET #execution = :execution",
      ExpressionAttributeNames: { "#calls": "calls", "#execution": "execution" },
      ExpressionAttributeValues: { ":one": 1, ":execution": ctx.execution },
    }),
  );
}

export async function reserveSlot(
  request: ApprovalRequest,
  ctx: StepContext,
  deps: ApprovalDeps,
): Promise<StepResult> {
  await countCall(request, ctx, deps);
  return { outcome: "ok", slot: `slot-${request.requestId}` };
}

export async function releaseSlot(
  request: ApprovalRequest,
  ctx: StepContext,
  deps: ApprovalDeps,
): Promise<CompensationResult> {
  await countCall(request, ctx, deps);
  return { outcome: "compensated" };
}

export async function finish(
  request: ApprovalRequest,
  ctx: StepContext,
  deps: ApprovalDeps,
): Promise<StepResult> {
  await countCall(request, ctx, deps);
  return { outcome: "ok" };
}
