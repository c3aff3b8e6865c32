/**
 * The fence between a record given up at its deadline and its step that goes on running.
 *
 * A record still running at the record deadline is answered while its step goes on (a promise
 * cannot be stopped, record-deadline.ts). On a FIFO queue, out of attempts, it cannot be sent
 * again as a copy (it would lose its place in its group), so it is dead-lettered; if its step
 * then finished, the message had both an effect and a dead letter. The fence makes those two
 * outcomes exclude each other, through the message's idempotency record, which this delivery
 * holds IN_PROGRESS:
 * - the step writes its effect in one TransactWriteItems with `commitItem`, an update of the
 *   idempotency record that sets `committedBy` on the condition that the record is still in
 *   progress and nobody gave it up;
 * - the pipeline gives the record up (`giveUp`) before it dead-letters it: an update that sets
 *   `givenUpBy` on the condition that the record is in progress and nothing committed.
 * Exactly one of the two conditions holds, so either the effect was written (and the record is
 * acknowledged as done, not dead-lettered), or the dead letter is sent and the late step's write
 * is refused. Only effects written through `writeFenced` are fenced; an effect outside DynamoDB
 * has no transaction to join (the QueueConsumer README says what that leaves).
 *
 * Written by hand: Powertools idempotency has no hook into the effect's own write.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  TransactionCanceledException,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { TransientError } from "./errors.js";

/** One item of a TransactWriteItems, in the document client's form. */
type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** A write a fenced effect may be: one conditional put or update. */
export type EffectWrite = Pick<TransactItem, "Put" | "Update">;

/** Where a message's idempotency record is: Powertools' table and the record's key. */
export interface IdempotencyRecordRef {
  readonly table: string;
  readonly key: Readonly<Record<string, string>>;
  /** The record's status attribute (Powertools' `status`). */
  readonly statusAttribute: string;
}

/** What a step's context carries when its effect can be fenced. */
export interface EffectFence {
  readonly record: IdempotencyRecordRef;
  /** The delivery that holds the record (its SQS message id), written into the marks. */
  readonly holder: string;
}

const IN_PROGRESS = "INPROGRESS";

/** The TransactWriteItems entry that commits beside an effect: see the module comment. */
export function commitItem(fence: EffectFence): TransactItem {
  return {
    Update: {
      TableName: fence.record.table,
      Key: fence.record.key,
      UpdateExpression: "SET committedBy = :holder",
      ConditionExpression: "#status = :inProgress AND attribute_not_exists(givenUpBy)",
      ExpressionAttributeNames: { "#status": fence.record.statusAttribute },
      ExpressionAttributeValues: { ":holder": fence.holder, ":inProgress": IN_PROGRESS },
    },
  };
}

/**
 * Writes a step's effect: with a fence, in one transaction with `commitItem`; without one (no
 * idempotency table, a test's fake store), as the plain put or update it is. Either way a failed
 * condition of the effect's own write throws ConditionalCheckFailedException, with the item as
 * it was when the write asked for it (`ReturnValuesOnConditionCheckFailure: "ALL_OLD"`), so a
 * caller handles "already applied" the same way on both paths. A refused fence throws a
 * transient RECORD_DEADLINE: the record was given up and dead-lettered, the effect not written.
 */
export async function writeFenced(
  db: DynamoDBDocumentClient,
  fence: EffectFence | undefined,
  write: EffectWrite,
): Promise<void> {
  if (!fence) {
    if (write.Put) await db.send(new PutCommand(write.Put));
    else if (write.Update) await db.send(new UpdateCommand(write.Update));
    return;
  }
  try {
    await db.send(new TransactWriteCommand({ TransactItems: [write, commitItem(fence)] }));
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const [effect, commit] = error.CancellationReasons ?? [];
    if (effect?.Code === "ConditionalCheckFailed") {
      throw new ConditionalCheckFailedException({
        message: "the effect's condition failed",
        $metadata: error.$metadata,
        ...(effect.Item ? { Item: effect.Item } : {}),
      });
    }
    if (commit?.Code === "ConditionalCheckFailed") {
      throw new TransientError(
        "the record was given up at its deadline: its effect was not written",
        { code: "RECORD_DEADLINE", details: { givenUp: true } },
      );
    }
    throw error; // a conflict or throttle: transient, retried like any other
  }
}

export type GiveUpOutcome =
  /** The mark is set: no fenced effect of this record can be written any more. */
  | "given-up"
  /** A fenced effect was written (or the step completed): the work is done. */
  | "committed"
  /**
   * No record in progress that could still commit (the step failed and its record was removed,
   * or an earlier give-up marked it): nothing fenced was done.
   */
  | "not-held";

/**
 * Gives the record up before it is dead-lettered: see the module comment. Any error but the
 * condition's propagates, and the record is then retried instead of dead-lettered (its mark not
 * set, its late effect would be acknowledged as done).
 */
export async function giveUp(db: DynamoDBClient, fence: EffectFence): Promise<GiveUpOutcome> {
  // The low-level client: the pipeline has no document client (the step may not use one).
  const key = Object.fromEntries(
    Object.entries(fence.record.key).map(([name, value]) => [name, { S: value }]),
  );
  try {
    await db.send(
      new UpdateItemCommand({
        TableName: fence.record.table,
        Key: key,
        UpdateExpression: "SET givenUpBy = :holder",
        ConditionExpression: "#status = :inProgress AND attribute_not_exists(committedBy)",
        ExpressionAttributeNames: { "#status": fence.record.statusAttribute },
        ExpressionAttributeValues: {
          ":holder": { S: fence.holder },
          ":inProgress": { S: IN_PROGRESS },
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return "given-up";
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const old = error.Item;
    if (old === undefined) return "not-held";
    const status = old[fence.record.statusAttribute]?.S;
    return old.committedBy !== undefined || status === "COMPLETED" ? "committed" : "not-held";
  }
}
