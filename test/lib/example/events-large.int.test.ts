/**
 * The claim-check for events on the emulator, through the reference stack's Events part: the
 * outbox, the orders bus and its three subscriptions (payments through the FIFO forwarder,
 * order-confirmations, analytics), all bound to one PayloadStore (lib/example/parts/events.ts).
 *
 * - ~600 KB: over DynamoDB's item size, so the producer stores it while writing the row
 *   (`outboxPutLarge`) and the row, the published event and every queue carry its pointer;
 * - ~300 KB: fits a row but is over the publisher's threshold, so the publisher stores it;
 * - small: published inline, no object written;
 * - a pointer whose object does not exist: dead-lettered by each subscriber as
 *   PAYLOAD_UNRESOLVABLE.
 *
 * Each subscriber checks what it reads against the SHA-256 its pointer's key names (the toolkit's
 * resolveBody), so an effect recorded from a stored event means a body equal to the one written.
 */
import { DynamoDBClient, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import { createEvent, type SpoolEvent } from "../../../lib/spool/runtime/envelope.js";
import { s3PayloadObjects } from "../../../lib/spool/runtime/payload-objects-s3.js";
import {
  EVENT_POINTER_FIELD,
  eventPointerDetail,
  parsePointer,
  payloadKey,
} from "../../../lib/spool/runtime/payload-pointer.js";
import {
  outboxPut,
  outboxPutLarge,
} from "../../../lib/spool/transactional-outbox/runtime/outbox.js";
import {
  config,
  getItem,
  output,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../helpers/cloud.js";

const dynamo = new DynamoDBClient(config);
const eventBridge = new EventBridgeClient(config);
// The emulator serves buckets by path (virtual hosts would need DNS for bucket.localhost).
const s3 = new S3Client({ ...config, forcePathStyle: true });
const effects = () => output("EffectsTableName");
const bucket = () => output("EventPayloadsBucketName");

function orderPlaced(padding: number) {
  const orderId = uniqueId("order");
  const customerId = uniqueId("cust");
  const event = createEvent({
    id: uniqueId("evt"),
    type: "OrderPlaced",
    schemaVersion: "1.0",
    source: "spool.checkout",
    data: {
      orderId,
      customerId,
      email: "grace@example.com",
      currency: "EUR",
      items: [{ sku: "sku-a", quantity: 1, unitPriceCents: 900 }],
      totalCents: 900,
      placedAt: new Date().toISOString(),
      // What makes it large: a field no subscriber reads, so only the transport is tested.
      giftNote: "0123456789abcdef".repeat(Math.ceil(padding / 16)),
    },
  });
  return { event, orderId, customerId };
}

async function write(put: Awaited<ReturnType<typeof outboxPutLarge>>) {
  await dynamo.send(new TransactWriteItemsCommand({ TransactItems: [put] }));
}

/** The object under a key, or undefined when there is none. */
async function storedObject(key: string): Promise<string | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    return await object.Body?.transformToString("utf-8");
  } catch (error) {
    if ((error as Error).name === "NoSuchKey") return undefined;
    throw error;
  }
}

/** Each subscriber's effect of the order, once all three have one. */
async function allEffects(orderId: string, customerId: string) {
  return waitFor(
    async () => {
      const [payment, confirmation, stats] = await Promise.all([
        getItem(effects(), { pk: `payment#${orderId}`, sk: "authorization" }),
        getItem(effects(), { pk: `notification#order-confirmation#${orderId}`, sk: "delivery" }),
        getItem(effects(), { pk: `analytics#customer#${customerId}`, sk: "stats#EUR" }),
      ]);
      return payment && confirmation && stats ? { payment, confirmation, stats } : undefined;
    },
    { what: `the effects of order ${orderId} in all three subscribers`, timeoutMs: 120_000 },
  );
}

function expectOnce(
  effect: Awaited<ReturnType<typeof allEffects>>,
  event: SpoolEvent,
  orderId: string,
) {
  expect(effect.payment).toMatchObject({ eventId: event.id, messageGroupId: orderId, attempt: 1 });
  expect(effect.confirmation).toMatchObject({ recipient: "grace@example.com" });
  expect(effect.stats).toMatchObject({ orders: 1, revenueCents: 900, lastOrderId: orderId });
}

describe.concurrent("large events through the outbox (claim-check)", () => {
  it("a ~600 KB OrderPlaced, stored as its row is written, reaches every subscriber once", async () => {
    const { event, orderId, customerId } = orderPlaced(600_000);
    const json = JSON.stringify(event);
    expect(Buffer.byteLength(json)).toBeGreaterThan(600_000);
    const put = await outboxPutLarge(
      output("OutboxTableName"),
      event,
      { bucket: bucket(), objects: s3PayloadObjects(s3) },
      orderId,
    );
    // The row holds the pointer detail; the object is the event, under its own hash.
    const row = unmarshall(put.Put?.Item ?? {});
    const detail = JSON.parse(String(row.event));
    expect(detail).toMatchObject({ id: event.id, type: "OrderPlaced", source: "spool.checkout" });
    const pointer = parsePointer(String(row.event));
    if ("malformed" in pointer) throw new Error(pointer.malformed);
    expect(pointer).toEqual({ bucket: bucket(), key: payloadKey(json) });
    expect(await storedObject(pointer.key)).toBe(json);
    await write(put);

    expectOnce(await allEffects(orderId, customerId), event, orderId);
    const published = await waitFor(
      async () => {
        const item = await getItem(output("OutboxTableName"), { id: event.id });
        return item?.status === "PUBLISHED" ? item : undefined;
      },
      { what: "the outbox row marked PUBLISHED" },
    );
    expect(JSON.parse(String(published.event))[EVENT_POINTER_FIELD]).toBeDefined();
  });

  it("a ~300 KB OrderPlaced that fits its row is stored by the publisher and reaches every subscriber once", async () => {
    const { event, orderId, customerId } = orderPlaced(300_000);
    const json = JSON.stringify(event);
    expect(await storedObject(payloadKey(json))).toBeUndefined();
    await write(outboxPut(output("OutboxTableName"), event, orderId));

    expectOnce(await allEffects(orderId, customerId), event, orderId);
    // The publisher wrote it, byte for byte, under its hash: subscribers got it from there.
    expect(await storedObject(payloadKey(json))).toBe(json);
  });

  it("a small OrderPlaced is published inline: no object is written", async () => {
    const { event, orderId, customerId } = orderPlaced(0);
    await write(outboxPut(output("OutboxTableName"), event, orderId));
    expectOnce(await allEffects(orderId, customerId), event, orderId);
    expect(await storedObject(payloadKey(JSON.stringify(event)))).toBeUndefined();
  });

  it("a pointer whose object does not exist is dead-lettered by each subscriber, after one attempt", async () => {
    const { event } = orderPlaced(0);
    const missing = { bucket: bucket(), key: payloadKey(`${event.id}: never written`) };
    await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: output("EventBusName"),
            Source: event.source,
            DetailType: event.type,
            Detail: eventPointerDetail(event as unknown as Record<string, unknown>, missing, 1),
          },
        ],
      }),
    );
    const mine = (m: { Body?: string }) => m.Body?.includes(event.id) ?? false;
    // Payments' forwarder resolves it first (to read the group id), so its inbox's DLQ has it.
    for (const queue of [
      "OrderConfirmationsDeadLetterQueueUrl",
      "AnalyticsDeadLetterQueueUrl",
      "PaymentsInboxDeadLetterQueueUrl",
    ]) {
      const [letter] = await takeDeadLetters(output(queue), mine, 1, { timeoutMs: 60_000 });
      expect(letter?.metadata).toMatchObject({
        reason: "permanent-failure",
        errorCode: "PAYLOAD_UNRESOLVABLE",
        attempts: 1,
      });
      expect(JSON.parse(letter?.message.Body ?? "{}")[EVENT_POINTER_FIELD]).toBeDefined();
    }
  });
});
