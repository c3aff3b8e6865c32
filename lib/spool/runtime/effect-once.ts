import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";

/** A DynamoDB item key: partition key first, then the sort key if the table has one. */
export type ItemKey = Readonly<Record<string, string | number>>;

export interface PutOnceArgs {
  readonly table: string;
  readonly key: ItemKey;
  /** The rest of the record (the key is added to it). */
  readonly item: Readonly<Record<string, unknown>>;
  /** The numeric attribute, on the existing record, that counts duplicates (operators read it). */
  readonly duplicateCounter: string;
}

/**
 * Attribute names Spool writes into expressions as they are: short lower-camel identifiers that
 * are not DynamoDB reserved words (of which the ones below are the likely ones). Anything else
 * goes through an alias.
 */
function plain(name: string): boolean {
  return /^[a-z][a-zA-Z0-9]*$/.test(name) && !["key", "name", "status", "count"].includes(name);
}

/** `attribute_not_exists(pk)`, aliasing the name only when DynamoDB needs it to. */
export function absenceOf(key: ItemKey): {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
} {
  const [partition] = Object.keys(key);
  if (partition === undefined) throw new Error("absenceOf: the key has no attributes");
  if (plain(partition)) return { ConditionExpression: `attribute_not_exists(${partition})` };
  return {
    ConditionExpression: "attribute_not_exists(#partition)",
    ExpressionAttributeNames: { "#partition": partition },
  };
}

/**
 * Adds one to `counter` on the record at `key`: how an effect that already happened notes the
 * duplicate delivery that reached it (visible in the record, never a second effect).
 */
export async function countDuplicate(
  db: DynamoDBDocumentClient,
  table: string,
  key: ItemKey,
  counter: string,
): Promise<void> {
  const names = plain(counter) ? {} : { ExpressionAttributeNames: { "#counter": counter } };
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: key,
      UpdateExpression: `ADD ${plain(counter) ? counter : "#counter"} :one`,
      ...names,
      ExpressionAttributeValues: { ":one": 1 },
    }),
  );
}

/**
 * Records an effect exactly once: a put conditional on the record's absence is the boundary, so
 * of any number of deliveries (retries, duplicates, replays) one writes it. Resolves `true` for
 * the call that wrote it; `false` for a duplicate, after counting it on the existing record.
 * Any other error propagates (transient: the delivery is retried and meets the same condition).
 */
export async function putOnce(db: DynamoDBDocumentClient, args: PutOnceArgs): Promise<boolean> {
  try {
    await db.send(
      new PutCommand({
        TableName: args.table,
        Item: { ...args.item, ...args.key },
        ...absenceOf(args.key),
      }),
    );
    return true;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    await countDuplicate(db, args.table, args.key, args.duplicateCounter);
    return false;
  }
}

/** One item of a TransactWriteItems call, as the document client takes it. */
export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/**
 * The record `item` at `key`, key first. The key is spread again last so an item that carries a
 * key attribute cannot move the record elsewhere, while the key keeps its place at the front.
 */
function keyed(key: ItemKey, item: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ...key, ...item, ...key };
}

/**
 * The Put, for a TransactWriteItems, of a marker that records an effect once: conditional on the
 * key's absence, so the transaction that carries the effect (an increment, a journal entry) is
 * cancelled as a whole for a duplicate, with `ConditionalCheckFailed` at this item's index.
 */
export function markerPut(
  table: string,
  key: ItemKey,
  item: Readonly<Record<string, unknown>>,
): TransactItem {
  return { Put: { TableName: table, Item: keyed(key, item), ...absenceOf(key) } };
}

/**
 * Writes `item` at `key` unless a record is already there. Resolves `undefined` for the call that
 * wrote it, or the record found (read consistently) when one was there: a compensation uses it to
 * leave a tombstone where there is nothing to undo, and to learn what to undo otherwise. Any
 * other error propagates.
 */
export async function putUnlessPresent(
  db: DynamoDBDocumentClient,
  table: string,
  key: ItemKey,
  item: Readonly<Record<string, unknown>>,
): Promise<Record<string, unknown> | undefined> {
  try {
    await db.send(new PutCommand({ TableName: table, Item: keyed(key, item), ...absenceOf(key) }));
    return undefined;
  } catch (error) {
    // By name, not class: an error of that name from another copy of the SDK is the same answer.
    if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
    return (await db.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })))
      .Item;
  }
}
