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
 * The same transaction can also complete the record (a transactional inbox): a step that knows
 * what it will return once its write commits passes it as `completesWith`, and the commit then
 * sets the record COMPLETED with that result, as Powertools' own update would after the step.
 * The store (idempotency-store.ts) is told, and skips that update when the step returns the
 * same result: a new message then costs two DynamoDB calls (the in-progress put and this
 * transaction) instead of three. The in-progress put stays: it is the lease that keeps a
 * concurrent duplicate from running the step beside this one.
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

/** An item of an effect written as several (checks, puts, updates), all in one transaction. */
export type EffectItem = Pick<TransactItem, "Put" | "Update" | "ConditionCheck" | "Delete">;

/**
 * How the commit completes the record as Powertools would (see the module comment): what its
 * update after the step sets, and whom to tell that it is already set.
 */
export interface RecordCompletion {
  /** Powertools' result and expiry attributes (`data`, `expiration`). */
  readonly dataAttribute: string;
  readonly expiryAttribute: string;
  /** The expiry Powertools would write now (epoch seconds). */
  readonly expiresAt: () => number;
  /** The step's result as the record stores it. */
  readonly stored: (result: unknown) => unknown;
  /** Called once the commit wrote `data`: the store skips its own identical update. */
  readonly committed: (data: unknown) => void;
}

/** Where a message's idempotency record is: Powertools' table and the record's key. */
export interface IdempotencyRecordRef {
  readonly table: string;
  readonly key: Readonly<Record<string, string>>;
  /** The record's status attribute (Powertools' `status`). */
  readonly statusAttribute: string;
  /** Present where the commit can complete the record: see `completesWith`. */
  readonly completion?: RecordCompletion;
}

export interface FencedWriteOptions {
  /**
   * What the step returns once this write commits. With it, the commit also completes the
   * idempotency record with that result (see the module comment). Pass it only when the step
   * returns exactly this after the write; if it returns something else, the store writes that
   * instead (one call more, nothing lost).
   */
  readonly completesWith?: unknown;
}

/** What a step's context carries when its effect can be fenced. */
export interface EffectFence {
  readonly record: IdempotencyRecordRef;
  /** The delivery that holds the record (its SQS message id), written into the marks. */
  readonly holder: string;
}

const IN_PROGRESS = "INPROGRESS";

const COMPLETED = "COMPLETED";

/** A commit that also completes the record: its stored data, and how it is written. */
interface Completing {
  readonly completion: RecordCompletion;
  readonly data: unknown;
}

/**
 * The TransactWriteItems entry that commits beside an effect: see the module comment. With
 * `completing`, it also sets the record COMPLETED with the step's stored result and its expiry.
 */
export function commitItem(fence: EffectFence, completing?: Completing): TransactItem {
  const condition = "#status = :inProgress AND attribute_not_exists(givenUpBy)";
  const names = { "#status": fence.record.statusAttribute };
  const values = { ":holder": fence.holder, ":inProgress": IN_PROGRESS };
  if (!completing) {
    return {
      Update: {
        TableName: fence.record.table,
        Key: fence.record.key,
        UpdateExpression: "SET committedBy = :holder",
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }
  const { completion, data } = completing;
  return {
    Update: {
      TableName: fence.record.table,
      Key: fence.record.key,
      UpdateExpression:
        "SET committedBy = :holder, #status = :completed, #data = :data, #expiry = :expiry",
      ConditionExpression: condition,
      ExpressionAttributeNames: {
        ...names,
        "#data": completion.dataAttribute,
        "#expiry": completion.expiryAttribute,
      },
      ExpressionAttributeValues: {
        ...values,
        ":completed": COMPLETED,
        ":data": data,
        ":expiry": completion.expiresAt(),
      },
    },
  };
}

/** The completion to write with the commit, if the fence can and the step said its result. */
function completingOf(
  fence: EffectFence,
  options: FencedWriteOptions | undefined,
): Completing | undefined {
  const completion = fence.record.completion;
  if (!completion || options === undefined || !("completesWith" in options)) return undefined;
  return { completion, data: completion.stored(options.completesWith) };
}

/**
 * Writes a step's effect: with a fence, in one transaction with `commitItem`; without one (no
 * idempotency table, a test's fake store), as the plain put or update it is. Either way a failed
 * condition of the effect's own write throws ConditionalCheckFailedException, with the item as
 * it was when the write asked for it (`ReturnValuesOnConditionCheckFailure: "ALL_OLD"`), so a
 * caller handles "already applied" the same way on both paths. A refused fence throws a
 * transient RECORD_DEADLINE: the record was given up and dead-lettered, the effect not written.
 *
 * An effect of several items (a condition check beside a put, say) is given as an array: it is
 * one transaction with or without a fence, the commit last, so a cancellation's reasons keep the
 * caller's indexes, and a failed condition of one of its items rethrows the
 * TransactionCanceledException as DynamoDB sent it.
 */
export async function writeFenced(
  db: DynamoDBDocumentClient,
  fence: EffectFence | undefined,
  write: EffectWrite | readonly EffectItem[],
  options?: FencedWriteOptions,
): Promise<void> {
  const items = isItems(write) ? write : undefined;
  const single = isItems(write) ? undefined : write;
  if (!fence) {
    if (items) await db.send(new TransactWriteCommand({ TransactItems: [...items] }));
    else if (single?.Put) await db.send(new PutCommand(single.Put));
    else if (single?.Update) await db.send(new UpdateCommand(single.Update));
    return;
  }
  const completing = completingOf(fence, options);
  const effects: readonly EffectItem[] = items ?? (single ? [single] : []);
  try {
    await db.send(
      new TransactWriteCommand({ TransactItems: [...effects, commitItem(fence, completing)] }),
    );
    if (completing) completing.completion.committed(completing.data);
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const reasons = error.CancellationReasons ?? [];
    const effectFailed = reasons
      .slice(0, effects.length)
      .some((reason) => reason?.Code === "ConditionalCheckFailed");
    if (items && effectFailed) throw error;
    const [effect] = reasons;
    const commit = reasons[effects.length];
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

function isItems(write: EffectWrite | readonly EffectItem[]): write is readonly EffectItem[] {
  return Array.isArray(write);
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
