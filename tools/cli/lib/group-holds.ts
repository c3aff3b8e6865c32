import { randomUUID } from "node:crypto";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import { CONSUMER_ENV } from "../../../lib/spool/runtime/consumer-config.js";
import { groupHoldKey, groupHoldPrefix } from "../../../lib/spool/runtime/group-hold-policy.js";
import type { Operator } from "./audit.js";
import { PartitionAudit } from "./audit-items.js";
import type { Consumer } from "./consumers.js";
import { SpoolCliError } from "./errors.js";

/**
 * The FIFO group holds of a consumer with `holdGroupOnDeadLetter` (lib/spool/runtime/group-hold.ts):
 * listed from its idempotency table, and released by an operator when the head will not come
 * back (discarded, or given up on): the group then runs again, and its parked dead letters are
 * replayed as ordinary ones.
 */
export interface GroupHold {
  readonly group: string;
  /** The dead-lettered record the group waits for; absent once it was replayed and applied. */
  readonly head: string | undefined;
  readonly heldAt: string | undefined;
  /** Records parked behind the head since the hold started. */
  readonly parked: number;
  /** Dead letters the hold still waits for (the head and the parked ones not yet applied). */
  readonly outstanding: number;
  readonly version: number;
}

/** Where a consumer keeps its holds: read from its function's environment. */
export interface HoldPlace {
  readonly table: string;
  readonly consumerName: string;
  readonly enabled: boolean;
}

export async function holdPlaceOf(lambda: LambdaClient, consumer: Consumer): Promise<HoldPlace> {
  const { GetFunctionConfigurationCommand } = await import("@aws-sdk/client-lambda");
  const config = await lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: consumer.functionName }),
  );
  const env = config.Environment?.Variables ?? {};
  const table = env[CONSUMER_ENV.idempotencyTable];
  const consumerName = env[CONSUMER_ENV.consumerName];
  if (!table || !consumerName) {
    throw new SpoolCliError(
      `consumer ${consumer.name} has no idempotency table, so it keeps no group holds`,
      2,
    );
  }
  return { table, consumerName, enabled: env[CONSUMER_ENV.holdGroupOnDeadLetter] === "true" };
}

function holdOf(item: Record<string, unknown>, prefix: string): GroupHold {
  const set = (v: unknown) => (v instanceof Set ? [...(v as Set<string>)] : []);
  const settled = new Set([...set(item.applied), ...set(item.retired)]);
  return {
    group: String(item.id).slice(prefix.length),
    head: typeof item.head === "string" ? item.head : undefined,
    heldAt: typeof item.heldAt === "string" ? item.heldAt : undefined,
    parked: Number(item.parked ?? 0),
    outstanding: set(item.owed).filter((id) => !settled.has(id)).length,
    version: Number(item.v ?? 0),
  };
}

/** Every hold of the consumer (a Scan of its key prefix: holds are few, the table is not). */
export async function listHolds(
  db: DynamoDBDocumentClient,
  place: HoldPlace,
): Promise<GroupHold[]> {
  const prefix = groupHoldPrefix(place.consumerName);
  const holds: GroupHold[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: place.table,
        FilterExpression: "begins_with(id, :prefix)",
        ExpressionAttributeValues: { ":prefix": prefix },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    holds.push(...(page.Items ?? []).map((item) => holdOf(item, prefix)));
    start = page.LastEvaluatedKey;
  } while (start);
  return holds.sort((a, b) => (a.heldAt ?? "").localeCompare(b.heldAt ?? ""));
}

export async function readHold(
  db: DynamoDBDocumentClient,
  place: HoldPlace,
  group: string,
): Promise<GroupHold | undefined> {
  const { Item } = await db.send(
    new GetCommand({
      TableName: place.table,
      Key: { id: groupHoldKey(place.consumerName, group) },
      ConsistentRead: true,
    }),
  );
  return Item ? holdOf(Item, groupHoldPrefix(place.consumerName)) : undefined;
}

/** A hold release, as the audit records it. */
export interface HoldReleaseStarted {
  readonly releaseId: string;
  readonly stack: string;
  readonly consumer: string;
  readonly group: string;
  readonly head: string | undefined;
  readonly outstanding: number;
  readonly operator: Operator;
  readonly startedAt: string;
}

export interface HoldReleaseFinished {
  /** `changed`: the hold moved on (a record parked, failed or applied) between read and delete. */
  readonly status: "completed" | "changed" | "failed";
  readonly finishedAt: string;
  readonly error?: string;
}

export class DynamoHoldReleaseAudit extends PartitionAudit<
  HoldReleaseStarted,
  HoldReleaseFinished,
  HoldReleaseStarted & Partial<HoldReleaseFinished>
> {
  constructor(db: DynamoDBDocumentClient, table: string) {
    super(db, table, "group-hold-releases", (r) => r.releaseId, "hold release");
  }
}

/**
 * Deletes the hold as it was read (its version), audited before and after: a hold that moved on
 * meanwhile is left alone and the operator is told to look again.
 */
export async function releaseHold(
  db: DynamoDBDocumentClient,
  place: HoldPlace,
  hold: GroupHold,
  audit: DynamoHoldReleaseAudit,
  who: { operator: Operator; stack: string; consumer: string },
): Promise<HoldReleaseStarted & HoldReleaseFinished> {
  const started: HoldReleaseStarted = {
    releaseId: randomUUID(),
    stack: who.stack,
    consumer: who.consumer,
    group: hold.group,
    head: hold.head,
    outstanding: hold.outstanding,
    operator: who.operator,
    startedAt: new Date().toISOString(),
  };
  await audit.started(started);
  let finished: HoldReleaseFinished;
  try {
    await db.send(
      new DeleteCommand({
        TableName: place.table,
        Key: { id: groupHoldKey(place.consumerName, hold.group) },
        ConditionExpression: "#v = :v",
        ExpressionAttributeNames: { "#v": "v" },
        ExpressionAttributeValues: { ":v": hold.version },
      }),
    );
    finished = { status: "completed", finishedAt: new Date().toISOString() };
  } catch (error) {
    const changed = (error as Error).name === "ConditionalCheckFailedException";
    finished = {
      status: changed ? "changed" : "failed",
      finishedAt: new Date().toISOString(),
      ...(changed ? {} : { error: (error as Error).message }),
    };
  }
  await audit.finished(started.releaseId, finished);
  return { ...started, ...finished };
}
