/**
 * Group hold (`holdGroupOnDeadLetter`, FIFO consumers): a message group whose record was
 * dead-lettered stops until a replay brings that record back, so the replay applies it in its
 * place instead of after the messages that followed it.
 *
 * **Why.** Without a hold, a FIFO record dead-lettered mid-sequence lets the rest of its group
 * run; its replay then arrives after them and a sequence-checked step must refuse it (or apply it
 * out of order). With a hold, the rest is not run: each later record of the group is
 * dead-lettered at once with code `GROUP_HELD` ("parked"), so it sits behind the head in the FIFO
 * dead-letter queue, in order, and one replay of the group brings them all back in order.
 *
 * **The trade-off.** A held group stops until an operator acts (fixes the cause and replays, or
 * releases the hold with `spool consumers holds <consumer> --release <group>`); other groups are
 * unaffected. The alternative (no hold, the default) keeps a group moving and accepts that its
 * dead letter can only be applied out of order, or not at all.
 *
 * **The hold item.** One per held group in the consumer's idempotency table, under
 * `<consumerName>#group-hold#<group>` (the consumer's grant covers its `<consumerName>#*` keys):
 * `owed` (the ids of the group's dead letters the hold waits for: the head and every parked
 * record), `applied` (the original ids of replayed records that were settled), `retired` (ids
 * that stand for a dead letter no more: a replayed record dead-lettered again is a new dead
 * letter with a new id, which replaces the old one in `owed`), `head` (the original id of the
 * record that failed, until its replay is applied), `parked` (a count, for operators). Sets, not
 * counters, so a write repeated after a crash counts nothing twice. The item has no expiry: a hold
 * never lapses silently. One item holds a few thousand ids (DynamoDB's 400 KB item limit).
 *
 * **The rules, per record of a group** (FIFO: one record of a group at a time):
 * - no hold: processed as usual; if it is dead-lettered, the hold starts with it as the head;
 * - a hold, and a record that is not a replay: parked (its id joins `owed`), never run;
 * - a hold, and a replay of the head, or of anything once the head was applied: processed; once
 *   settled its original id joins `applied`, and when every `owed` id is applied or retired the
 *   hold is released (a conditional delete on its version, so a record parked meanwhile keeps
 *   it);
 * - a hold, and a replay of a later record while the head is still out: parked again (in order
 *   behind the head, which failed again or has not come back).
 *
 * A replay must carry Spool's replay marker (`spool dlq replay`, replay-marker.ts) with the
 * original id: SQS's own move task does not mark messages, so its copies are parked again.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { SQSRecord } from "aws-lambda";
import type { ConsumerConfig } from "./consumer-config.js";
import type { ConsumerDependencies, RecordOutcome } from "./consumer-types.js";
import { correlationIdOf } from "./correlation.js";
import type { deadLettering } from "./dead-lettering.js";
import { PermanentError } from "./errors.js";
import { GROUP_HOLD_METRICS, groupHoldKey } from "./group-hold-policy.js";
import { parseBodyOrUndefined } from "./message-body.js";
import { parseReplayMarker } from "./replay-marker.js";

export { GROUP_HOLD_METRICS, groupHoldKey, groupHoldPrefix } from "./group-hold-policy.js";

/** The idempotency table's partition key (Powertools' default). */
const KEY_ATTRIBUTE = "id";

/** A group's hold as stored. */
export interface GroupHoldState {
  readonly head: string | undefined;
  readonly owed: readonly string[];
  readonly applied: readonly string[];
  readonly retired: readonly string[];
  readonly parked: number;
  readonly heldAt: string | undefined;
  readonly version: number;
}

/** Reads a hold item (DynamoDB's attribute shape). */
export function groupHoldState(item: Record<string, AttributeValue>): GroupHoldState {
  return {
    head: item.head?.S,
    owed: item.owed?.SS ?? [],
    applied: item.applied?.SS ?? [],
    retired: item.retired?.SS ?? [],
    parked: Number(item.parked?.N ?? 0),
    heldAt: item.heldAt?.S,
    version: Number(item.v?.N ?? 0),
  };
}

/** The owed dead letters not yet applied nor retired: what the hold still waits for. */
export function outstanding(hold: GroupHoldState): string[] {
  const settled = new Set([...hold.applied, ...hold.retired]);
  return hold.owed.filter((id) => !settled.has(id));
}

/** The holds of one consumer's groups, in its idempotency table. */
export class GroupHolds {
  constructor(
    private readonly table: string,
    private readonly consumerName: string,
    private readonly dynamo: DynamoDBClient,
    private readonly now: () => Date,
  ) {}

  /** The group's hold, read consistently (a record of the group may just have started it). */
  async read(group: string): Promise<GroupHoldState | undefined> {
    const { Item } = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.table,
        Key: this.key(group),
        ConsistentRead: true,
      }),
    );
    return Item ? groupHoldState(Item) : undefined;
  }

  /**
   * A record of the group went to the dead-letter queue as `deadLetterId` (its id on the source
   * queue, which the dead letter's metadata names and a replay's marker carries back). `replaces`:
   * the original id a replayed record stood for (now retired). `failed`: it failed (it becomes the
   * head unless one is out) rather than being parked. Returns whether this started the hold.
   */
  async deadLettered(
    group: string,
    letter: { deadLetterId: string; replaces?: string | undefined; failed: boolean },
  ): Promise<boolean> {
    const sets = ["#heldAt = if_not_exists(#heldAt, :now)", "#v = if_not_exists(#v, :zero) + :one"];
    const adds = ["#owed :id"];
    const values: Record<string, AttributeValue> = {
      ":id": { SS: [letter.deadLetterId] },
      ":now": { S: this.now().toISOString() },
      ":zero": { N: "0" },
      ":one": { N: "1" },
    };
    if (letter.failed) {
      // A replay is processed only while it is the head or no head is out: it becomes the head.
      sets.push(
        letter.replaces ? "#head = :head" : "#head = if_not_exists(#head, :head)",
        "#failedAt = :now",
      );
      values[":head"] = { S: letter.deadLetterId };
    } else if (!letter.replaces) {
      adds.push("#parked :one");
    }
    if (letter.replaces) {
      adds.push("#retired :old");
      values[":old"] = { SS: [letter.replaces] };
    }
    const { Attributes } = await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(group),
        ...expression(`SET ${sets.join(", ")} ADD ${adds.join(", ")}`),
        ExpressionAttributeValues: values,
        ReturnValues: "UPDATED_OLD",
      }),
    );
    return Attributes?.heldAt === undefined;
  }

  /**
   * A replayed record of the group (original id `originalId`) was settled. Returns whether that
   * released the hold. A hold released meanwhile (by an operator) is left alone.
   */
  async applied(group: string, originalId: string, wasHead: boolean): Promise<boolean> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      ({ Attributes: item } = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(group),
          ...expression(
            `SET #v = #v + :one ADD #applied :id${wasHead ? " REMOVE #head" : ""}`,
            "attribute_exists(#v)",
          ),
          ExpressionAttributeValues: { ":id": { SS: [originalId] }, ":one": { N: "1" } },
          ReturnValues: "ALL_NEW",
        }),
      ));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    const hold = item ? groupHoldState(item) : undefined;
    if (!hold || outstanding(hold).length > 0) return false;
    return this.release(group, hold.version);
  }

  /** Deletes the hold if it is still at `version` (nothing was parked or failed since). */
  async release(group: string, version: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: this.key(group),
          ConditionExpression: "#v = :v",
          ExpressionAttributeNames: { "#v": "v" },
          ExpressionAttributeValues: { ":v": { N: String(version) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private key(group: string): Record<string, AttributeValue> {
    return { [KEY_ATTRIBUTE]: { S: groupHoldKey(this.consumerName, group) } };
  }
}

/**
 * An update (and condition) with every attribute written `#name`: the names are DynamoDB's
 * reserved words or may become so, and only the names used may be declared.
 */
function expression(update: string, condition?: string) {
  const used = `${update} ${condition ?? ""}`.match(/#\w+/g) ?? [];
  return {
    UpdateExpression: update,
    ...(condition ? { ConditionExpression: condition } : {}),
    ExpressionAttributeNames: Object.fromEntries(used.map((n) => [n, n.slice(1)])),
  };
}

/** What the guard needs of the consumer around it. */
export interface GroupHoldParts {
  readonly holds: Pick<GroupHolds, "read" | "deadLettered" | "applied">;
  readonly metrics: Pick<Metrics, "addMetric">;
  readonly logger: Pick<Logger, "info" | "warn">;
  /** Dead-letters a record with code GROUP_HELD (the consumer's dead-lettering). */
  readonly park: (record: SQSRecord) => Promise<RecordOutcome<never>>;
}

/** Outcomes after which a record is gone from its queue without a dead letter: settled. */
const SETTLED = new Set(["processed", "duplicate", "already-done", "canceled"]);

/**
 * The group-hold guard around a FIFO consumer's record handler: parks what a hold stops, and
 * keeps the hold's books for what it lets through.
 */
export function groupHoldGuard<R>(
  handle: (record: SQSRecord) => Promise<RecordOutcome<R>>,
  parts: GroupHoldParts,
) {
  const { holds, metrics, logger } = parts;
  const noteDeadLettered = async (
    record: SQSRecord,
    group: string,
    replaces: string | undefined,
    failed: boolean,
  ) => {
    const started = await holds.deadLettered(group, {
      deadLetterId: record.messageId,
      replaces,
      failed,
    });
    if (started) {
      metrics.addMetric(GROUP_HOLD_METRICS.held, MetricUnit.Count, 1);
      logger.warn("group held: later records of the group are parked until a replay", {
        messageGroupId: group,
        head: record.messageId,
      });
    }
  };

  return {
    /** A record dead-lettered outside the guard (skipped behind its group, out of attempts). */
    deadLettered: async (record: SQSRecord) => {
      const group = record.attributes.MessageGroupId;
      if (group === undefined) return;
      await noteDeadLettered(record, group, originalIdOf(record), true);
    },
    handle: async (record: SQSRecord): Promise<RecordOutcome<R>> => {
      const group = record.attributes.MessageGroupId;
      if (group === undefined) return handle(record);
      const originalId = originalIdOf(record);
      const hold = await holds.read(group);
      const mayRun =
        !hold ||
        (originalId !== undefined && (hold.head === undefined || hold.head === originalId));
      if (!mayRun) {
        const outcome = await parts.park(record);
        await noteDeadLettered(record, group, originalId, false);
        metrics.addMetric(GROUP_HOLD_METRICS.parked, MetricUnit.Count, 1);
        logger.info("parked behind its group's dead-lettered head", {
          messageId: record.messageId,
          messageGroupId: group,
          head: hold.head,
          replayOf: originalId,
        });
        return outcome;
      }
      const outcome = await handle(record);
      if (outcome.status === "dead-lettered") {
        await noteDeadLettered(record, group, originalId, true);
      } else if (hold && originalId !== undefined && SETTLED.has(outcome.status)) {
        if (await holds.applied(group, originalId, hold.head === originalId)) {
          metrics.addMetric(GROUP_HOLD_METRICS.released, MetricUnit.Count, 1);
          logger.info("group hold released: its dead letters were replayed and applied", {
            messageGroupId: group,
          });
        }
      }
      return outcome;
    },
  };
}

/** The id a replayed record stood for on its source queue; undefined for a record never replayed. */
function originalIdOf(record: SQSRecord): string | undefined {
  const marker = parseReplayMarker(record.messageAttributes);
  return marker ? (marker.originalId ?? marker.deadLetterId) : undefined;
}

/**
 * The guard's parts for a consumer configured with `holdGroupOnDeadLetter` (undefined otherwise):
 * holds in its idempotency table, and parking through its own dead-lettering, so a parked record
 * carries the usual metadata (code GROUP_HELD, reason group-held) and a replay finds it.
 */
export function groupHoldFor(
  config: Pick<ConsumerConfig, "holdGroupOnDeadLetter" | "idempotencyTable" | "consumerName">,
  deps: Pick<ConsumerDependencies, "dynamo" | "metrics" | "logger" | "now">,
  deadLetter: ReturnType<typeof deadLettering>,
): GroupHoldParts | undefined {
  if (!config.holdGroupOnDeadLetter || !config.idempotencyTable) return undefined;
  const held = new PermanentError(
    "not run: its FIFO group is held behind a dead-lettered earlier message",
    { code: "GROUP_HELD" },
  );
  return {
    holds: new GroupHolds(config.idempotencyTable, config.consumerName, deps.dynamo, deps.now),
    metrics: deps.metrics,
    logger: deps.logger,
    park: (record) => {
      const body = parseBodyOrUndefined(record.body);
      const correlationId = correlationIdOf(record, body);
      const recordLogger = deps.logger.createChild({
        persistentKeys: { messageId: record.messageId, correlationId },
      });
      return deadLetter(record, held, "group-held", body, correlationId, recordLogger);
    },
  };
}
