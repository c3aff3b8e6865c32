import type { TransactWriteItem } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { SpoolEvent } from "../../runtime/envelope.js";
import { OUTBOX_KEY_ATTRIBUTE } from "../contract.js";

/**
 * The transactional outbox row. A producer writes it in the same DynamoDB transaction as the
 * state change the event describes, so the event exists if and only if the change does; the
 * table's stream then hands each new row to the outbox publisher.
 *
 * The envelope is stored as a JSON string, not a map: what the publisher sends is byte for byte
 * what the producer wrote, on the first publish and on every re-publish.
 */
export interface OutboxRow {
  /** The event id (the table's partition key). */
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: string;
  readonly source: string;
  readonly correlationId: string;
  /** The entity the event is about (an order id), for an operator looking for its events. */
  readonly aggregateId?: string;
  /** The envelope, as JSON. */
  readonly event: string;
  readonly status: OutboxStatus;
  readonly createdAt: string;
}

export type OutboxStatus = "PENDING" | "PUBLISHED" | "FAILED";

export function outboxRow(event: SpoolEvent, aggregateId?: string): OutboxRow {
  return {
    id: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    source: event.source,
    correlationId: event.correlationId,
    ...(aggregateId !== undefined ? { aggregateId } : {}),
    event: JSON.stringify(event),
    status: "PENDING",
    createdAt: event.time,
  };
}

/**
 * The TransactWriteItems entry that writes an event to the outbox. Conditional on the id being
 * new, so a producer bug that reuses an event id cancels its whole transaction instead of
 * silently replacing an event that may not have been published yet.
 */
export function outboxPut(
  tableName: string,
  event: SpoolEvent,
  aggregateId?: string,
): TransactWriteItem {
  return {
    Put: {
      TableName: tableName,
      Item: marshall(outboxRow(event, aggregateId), { removeUndefinedValues: true }),
      ConditionExpression: "attribute_not_exists(#id)",
      ExpressionAttributeNames: { "#id": OUTBOX_KEY_ATTRIBUTE },
    },
  };
}
