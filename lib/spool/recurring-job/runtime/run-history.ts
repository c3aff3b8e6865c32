import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { JobRun } from "./run-states.js";

/** A job's runs, newest first, optionally within [from, to). */
export async function listRuns(
  db: DynamoDBDocumentClient,
  table: string,
  job: string,
  options: { from?: Date; to?: Date; limit?: number } = {},
): Promise<JobRun[]> {
  const from = `run#${(options.from ?? new Date(0)).toISOString()}`;
  const to = `run#${(options.to ?? new Date("9999-12-31T00:00:00Z")).toISOString()}`;
  const runs: JobRun[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": `job#${job}`, ":from": from, ":to": to },
        ScanIndexForward: false,
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        ...(options.limit ? { Limit: options.limit - runs.length } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      // BETWEEN is inclusive; the window is half-open.
      if (item.sk === to) continue;
      const { pk: _pk, sk: _sk, leaseUntil: _lease, expiresAt: _exp, ...run } = item;
      runs.push(run as JobRun);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey && (!options.limit || runs.length < options.limit));
  return runs;
}
