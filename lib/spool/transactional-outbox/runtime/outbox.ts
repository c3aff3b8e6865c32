import type { TransactWriteItem } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { SpoolEvent } from "../../runtime/envelope.js";
import { offloadEvent, type PayloadOffload } from "../../runtime/producer.js";
import { OUTBOX_KEY_ATTRIBUTE, OUTBOX_ROW_EVENT_MAX_BYTES } from "../contract.js";

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

/**
 * The row for an event. `eventJson` is what the row carries as `event` when it is not the event's
 * own JSON: the pointer detail of an event whose body is in the payload store (`outboxPutLarge`).
 */
export function outboxRow(event: SpoolEvent, aggregateId?: string, eventJson?: string): OutboxRow {
  return {
    id: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    source: event.source,
    correlationId: event.correlationId,
    ...(aggregateId !== undefined ? { aggregateId } : {}),
    event: eventJson ?? JSON.stringify(event),
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
  eventJson?: string,
): TransactWriteItem {
  return {
    Put: {
      TableName: tableName,
      Item: marshall(outboxRow(event, aggregateId, eventJson), { removeUndefinedValues: true }),
      ConditionExpression: "attribute_not_exists(#id)",
      ExpressionAttributeNames: { "#id": OUTBOX_KEY_ATTRIBUTE },
    },
  };
}

/**
 * `outboxPut` for an event that may be too large for a DynamoDB item (400 KB): above
 * `OUTBOX_ROW_EVENT_MAX_BYTES` of JSON, the event is written to the payload store first and the
 * row holds its pointer detail (the envelope's fields and the pointer), which the publisher then
 * publishes as it is and subscribers with the store resolve. Call it before the transaction: if
 * the transaction is cancelled the object is left unreferenced, and the store's lifecycle rule
 * removes it. `offload.thresholdBytes` lowers the row's limit (0 stores every event).
 */
export async function outboxPutLarge(
  tableName: string,
  event: SpoolEvent,
  offload: PayloadOffload,
  aggregateId?: string,
): Promise<TransactWriteItem> {
  const json = JSON.stringify(event);
  const limit = Math.min(
    offload.thresholdBytes ?? OUTBOX_ROW_EVENT_MAX_BYTES,
    OUTBOX_ROW_EVENT_MAX_BYTES,
  );
  if (Buffer.byteLength(json, "utf8") <= limit) return outboxPut(tableName, event, aggregateId);
  const detail = await offloadEvent(json, event as unknown as Record<string, unknown>, offload);
  return outboxPut(tableName, event, aggregateId, detail);
}
