import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailure, oldItem, type RunRecord } from "./run-store.js";

/**
 * The overlap lock of a skip-if-running job: one item per job in the runs table naming the run
 * that holds it, with a lease, so a crashed run cannot hold it for ever.
 */

export function lockItemKey(job: string) {
  return { pk: `job#${job}`, sk: "lock" };
}

/**
 * Takes the job's lock for `run` until `leaseUntil` (epoch ms): free, expired, or already this
 * run's. Otherwise answers with the run key holding it.
 */
export async function acquireRunLock(
  run: RunRecord,
  leaseUntil: number,
  now: Date,
): Promise<{ readonly acquired: true } | { readonly acquired: false; readonly blockedBy: string }> {
  try {
    await run.db.send(
      new PutCommand({
        TableName: run.table,
        Item: {
          ...lockItemKey(run.job.name),
          runKey: run.runKey,
          leaseUntil,
          acquiredAt: now.toISOString(),
        },
        ConditionExpression: "attribute_not_exists(pk) OR leaseUntil < :nowMs OR runKey = :runKey",
        ExpressionAttributeValues: { ":nowMs": now.getTime(), ":runKey": run.runKey },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return { acquired: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const holder = await oldItem(error, run.db, run.table, lockItemKey(run.job.name));
    return { acquired: false, blockedBy: String(holder?.runKey ?? "unknown") };
  }
}

/** Releases the job's lock if `run` still holds it. */
export async function releaseRunLock(run: RunRecord): Promise<void> {
  try {
    await run.db.send(
      new DeleteCommand({
        TableName: run.table,
        Key: lockItemKey(run.job.name),
        ConditionExpression: "runKey = :runKey",
        ExpressionAttributeValues: { ":runKey": run.runKey },
      }),
    );
  } catch (error) {
    // Taken over after our lease ran out: it is not ours to release any more.
    if (!isConditionFailure(error)) throw error;
  }
}
