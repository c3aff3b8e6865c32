import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { RunContext } from "../../lib/spool/recurring-job/runtime/recurring-jobs.js";

export interface HeartbeatDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The longest a heartbeat may hold its run (stays well inside a 5 s test-deployment timeout). */
export const MAX_HOLD_MS = 3_500;

export function heartbeatKey(runKey: string) {
  return { pk: `job-effect#${runKey}`, sk: "effect" };
}

/**
 * The test deployment's every-minute job. Its effect is a deliberately non-idempotent counter
 * (`executions`), so a second execution of one run would be visible: it is the witness that the
 * run key, not the effect, makes recurring runs exactly-once. `holdMs` keeps the run busy so
 * the overlap policy can be observed.
 */
export async function heartbeat(
  run: RunContext,
  deps: HeartbeatDeps,
): Promise<{ executions: number }> {
  const hold = Math.min(Number(run.parameters.holdMs ?? 0) || 0, MAX_HOLD_MS);
  if (hold > 0) await (deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(hold);
  const result = await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: heartbeatKey(run.runKey),
      UpdateExpression:
        "SET job = :job, scheduledTime = :time, #source = :source, lastExecutedAt = :now ADD executions :one",
      ExpressionAttributeNames: { "#source": "source" },
      ExpressionAttributeValues: {
        ":job": run.job,
        ":time": run.scheduledTime.toISOString(),
        ":source": run.source,
        ":now": deps.now().toISOString(),
        ":one": 1,
      },
      ReturnValues: "ALL_NEW",
    }),
  );
  return { executions: Number(result.Attributes?.executions ?? 0) };
}
