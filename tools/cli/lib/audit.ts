import { userInfo } from "node:os";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { newestFirst, setFields } from "./audit-items.js";
import type { AwsClients } from "./aws.js";
import { SpoolCliError } from "./errors.js";
import type { StackInventory } from "./stack.js";

/** Who is operating: the AWS principal, and the user at this machine's keyboard. */
export interface Operator {
  /** The STS caller ARN (on an emulator, whatever identity it reports). */
  readonly principal: string;
  readonly localUser: string;
}

export async function whoAmI(clients: AwsClients): Promise<Operator> {
  let localUser = "unknown";
  try {
    localUser = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep "unknown"
  }
  try {
    const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
    return { principal: identity.Arn ?? "unknown", localUser };
  } catch (error) {
    // An emulator without STS still gets a record naming the local user.
    if (clients.target.local) return { principal: "unknown (emulator)", localUser };
    throw error;
  }
}

/** The audit output a stack with Spool's Operations part carries. */
export const AUDIT_TABLE_OUTPUT = "OperatorAuditTableName";

export function auditTableName(inventory: StackInventory, override: string | undefined): string {
  const name = override ?? inventory.outputs[AUDIT_TABLE_OUTPUT];
  if (!name) {
    throw new SpoolCliError(
      `stack ${inventory.stackName} has no ${AUDIT_TABLE_OUTPUT} output, and every replay, pause and resume is recorded: pass --audit-table <table>`,
    );
  }
  return name;
}

/**
 * What an operator did to dead letters. Archives and discards are recorded like replays (same
 * table, same history), so `spool dlq history` answers "what happened to the dead letters of X".
 */
export type DeadLetterAction = "replay" | "archive" | "discard";

export interface ReplayStarted {
  readonly replayId: string;
  /** Absent on records written before archives and discards existed: a replay. */
  readonly action?: DeadLetterAction;
  /** Archive only: where the dead letters were written. */
  readonly archiveLocation?: string;
  readonly stack: string;
  readonly queue: string;
  readonly sourceQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly method: string;
  readonly filter: string;
  readonly limit: number | undefined;
  readonly ratePerSecond: number | undefined;
  readonly operator: Operator;
  readonly startedAt: string;
  readonly moveTaskHandle?: string;
  /**
   * Replay only: where the dead letters were sent (its name, URL, and the dead-letter queue its
   * consumer dead-letters into). Absent on records written before `--to` existed: the source.
   */
  readonly targetQueue?: string;
  readonly targetQueueUrl?: string;
  readonly targetDeadLetterQueueUrl?: string | undefined;
}

export interface ReplayMoved {
  /** Absent for a replay (as on records written before archives and discards existed). */
  readonly action?: DeadLetterAction;
  readonly deadLetterId: string;
  readonly originalId: string;
  readonly newMessageId: string | undefined;
  readonly errorCode: string | undefined;
  /** When it left the dead-letter queue (sent back, archived, or discarded). */
  readonly movedAt: string;
  /** Archive and discard: the body's SHA-256, to tie the record to an archived line. */
  readonly bodySha256?: string;
  /** Archive only: the file (or object) its line was written to. */
  readonly archivedTo?: string;
  /** Replay: how many replays the message has been through, this one included. */
  readonly replayCount?: number;
  /** Replay: sent without a replay mark (the original used every attribute slot SQS allows). */
  readonly unmarked?: boolean;
  /**
   * The replay (and its dead letter's id there) this letter had come back from: it was replayed,
   * dead-lettered again, and is now replayed, archived or discarded. Recorded under that earlier
   * replay too (`again#<id>`), so its history still counts the letter as dead-lettered again.
   */
  readonly previousReplayId?: string;
  readonly previousDeadLetterId?: string;
}

/** What became of a replayed letter after it was dead-lettered again (recorded by the next step). */
export interface ReplayedAgain {
  /** Its dead-letter id in the earlier replay's own records. */
  readonly deadLetterId: string;
  readonly action: DeadLetterAction;
  readonly byReplayId: string;
  readonly at: string;
}

export interface ReplayFinished {
  readonly status: "completed" | "interrupted" | "failed";
  readonly examined: number;
  readonly matched: number;
  readonly moved: number;
  readonly failed: number;
  readonly finishedAt: string;
  readonly error?: string;
}

/** Where a replay records itself. */
export interface ReplayAudit {
  started(record: ReplayStarted): Promise<void>;
  moved(replayId: string, record: ReplayMoved): Promise<void>;
  /** Several at once (a batch sent together); without it, `moved` is called for each. */
  movedAll?(replayId: string, records: readonly ReplayMoved[]): Promise<void>;
  finished(replayId: string, record: ReplayFinished): Promise<void>;
}

export interface ReplayHistoryEntry extends ReplayStarted, Partial<ReplayFinished> {}

const HISTORY_PARTITION = "replays";

/**
 * The audit trail in DynamoDB (the stack's OperatorAudit table: PITR on, retained on stack
 * deletion). One summary item per replay under a single partition sorted by start time, so
 * "who replayed what, when" is one query; one item per moved message under the replay's own
 * partition, written beside each batch's delete (one BatchWriteItem), so a replay killed midway
 * leaves a record of what it moved, short of at most the batches in hand. The summary says
 * "running" until the replay finishes; a replay that was killed stays "running".
 */
export class DynamoReplayAudit implements ReplayAudit {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #summaryKeys = new Map<string, { pk: string; sk: string }>();

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.#db = db;
    this.#table = table;
  }

  async started(record: ReplayStarted): Promise<void> {
    const key = { pk: HISTORY_PARTITION, sk: `${record.startedAt}#${record.replayId}` };
    this.#summaryKeys.set(record.replayId, key);
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...key, ...record, status: "running" },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  }

  async moved(replayId: string, record: ReplayMoved): Promise<void> {
    for (const Item of movedItems(replayId, record)) {
      await this.#db.send(new PutCommand({ TableName: this.#table, Item }));
    }
  }

  /** The same items as `moved` for each, written 25 to a BatchWriteItem call. */
  async movedAll(replayId: string, records: readonly ReplayMoved[]): Promise<void> {
    await writeAll(
      this.#db,
      this.#table,
      records.flatMap((r) => movedItems(replayId, r)),
    );
  }

  async finished(replayId: string, record: ReplayFinished): Promise<void> {
    const key = this.#summaryKeys.get(replayId);
    if (!key) throw new Error(`replay ${replayId} was not started through this audit`);
    await setFields(this.#db, this.#table, key, record);
  }

  /** The most recent replays, newest first. */
  async history(limit: number): Promise<ReplayHistoryEntry[]> {
    return newestFirst<ReplayHistoryEntry>(this.#db, this.#table, HISTORY_PARTITION, limit);
  }

  /** The messages one replay moved. */
  async messages(replayId: string): Promise<ReplayMoved[]> {
    return this.#items<ReplayMoved>(`replay#${replayId}`, "message#");
  }

  /** Its letters that were dead-lettered again and then moved on by a later operation. */
  async replayedAgain(replayId: string): Promise<ReplayedAgain[]> {
    return this.#items<ReplayedAgain>(`replay#${replayId}`, "again#");
  }

  /** The summary of one replay (or archive, or discard) by its id; undefined when unknown. */
  async find(replayId: string): Promise<ReplayHistoryEntry | undefined> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk",
          FilterExpression: "replayId = :id",
          ExpressionAttributeValues: { ":pk": HISTORY_PARTITION, ":id": replayId },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const [found] = (page.Items ?? []) as ReplayHistoryEntry[];
      if (found) return found;
      start = page.LastEvaluatedKey;
    } while (start);
    return undefined;
  }

  async #items<T>(pk: string, skPrefix: string): Promise<T[]> {
    const items: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": pk, ":prefix": skPrefix },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...((page.Items ?? []) as T[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

/** The items recording one moved letter. */
function movedItems(replayId: string, record: ReplayMoved): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [
    { pk: `replay#${replayId}`, sk: `message#${record.deadLetterId}`, replayId, ...record },
  ];
  if (record.previousReplayId && record.previousDeadLetterId) {
    // The earlier replay's history must still count it as dead-lettered again, though it
    // has now left the DLQ (and carries this replay's mark, if replayed).
    const again: ReplayedAgain = {
      deadLetterId: record.previousDeadLetterId,
      action: record.action ?? "replay",
      byReplayId: replayId,
      at: record.movedAt,
    };
    items.push({
      pk: `replay#${record.previousReplayId}`,
      sk: `again#${record.previousDeadLetterId}`,
      ...again,
    });
  }
  return items;
}

/**
 * Puts items 25 to a call, writing again what DynamoDB left unprocessed (it does so when it
 * throttles) after a short pause; throws when some are still left after a few rounds.
 */
async function writeAll(
  db: DynamoDBDocumentClient,
  table: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; requests.length > 0; round++) {
      if (round === 5) throw new Error(`${requests.length} audit items left unwritten`);
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
      const { UnprocessedItems } = await db.send(
        new BatchWriteCommand({ RequestItems: { [table]: requests } }),
      );
      requests = (UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  }
}
