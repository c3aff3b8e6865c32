import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { FAULT_ATTRIBUTE } from "../../../../lib/spool/runtime/faults.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import {
  getItem,
  output,
  sqs,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";

const queueUrl = () => output("OrdersQueueUrl");
const dlqUrl = () => output("OrdersDeadLetterQueueUrl");
const projection = (orderId: string) =>
  getItem(output("EffectsTableName"), { pk: `order#${orderId}`, sk: "projection" });
const appliedSeqs = async (orderId: string) =>
  (((await projection(orderId))?.history ?? []) as { seq: number }[]).map((h) => h.seq);

const TYPES = ["OrderPlaced", "OrderPaid", "OrderShipped", "OrderShipped", "OrderShipped"] as const;

function orderEvents(orderId: string, count: number, faults: Record<number, string> = {}) {
  return Array.from({ length: count }, (_, i) => {
    const seq = i + 1;
    const input = spoolMessage({
      queueUrl: queueUrl(),
      body: {
        schemaVersion: 1,
        orderId,
        seq,
        type: TYPES[i] ?? "OrderShipped",
        customerId: "c-1",
        occurredAt: new Date().toISOString(),
      },
      groupId: orderId,
      deduplicationId: `${orderId}#${seq}`,
      ...(faults[seq] ? { attributes: { [FAULT_ATTRIBUTE]: faults[seq] } } : {}),
    });
    return {
      Id: `${orderId}-${seq}`,
      MessageBody: input.MessageBody,
      MessageAttributes: input.MessageAttributes,
      MessageGroupId: input.MessageGroupId,
      MessageDeduplicationId: input.MessageDeduplicationId,
    };
  });
}

describe("FIFO consumer (orders)", () => {
  it("keeps each order in sequence, and one order's failure does not hold up another", async () => {
    const healthy = uniqueId("o-ok");
    const stuck = uniqueId("o-stuck");
    // The stuck order's second event fails transiently until its retries are spent.
    const entries = [...orderEvents(stuck, 4, { 2: "transient:99" }), ...orderEvents(healthy, 5)];
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl(), Entries: entries }));

    await waitFor(async () => (await appliedSeqs(healthy)).length === 5, {
      what: "all five events of the healthy order",
    });
    expect(await appliedSeqs(healthy)).toEqual([1, 2, 3, 4, 5]);
    // Meanwhile the stuck order has applied only what precedes its failing event.
    expect(await appliedSeqs(stuck)).toEqual([1]);

    // Its failing event is dead-lettered after the last allowed attempt; the rest then follow.
    const [letter] = await takeDeadLetters(dlqUrl(), (m) => m.Body?.includes(stuck) ?? false, 1, {
      timeoutMs: 90_000,
    });
    expect(letter?.metadata).toMatchObject({
      reason: "retries-exhausted",
      messageGroupId: stuck,
      attempts: 5,
    });
    expect(JSON.parse(letter?.message.Body ?? "{}").seq).toBe(2);
    await waitFor(async () => (await appliedSeqs(stuck)).length === 3, {
      what: "the stuck order to resume",
      timeoutMs: 30_000,
    });
    expect(await appliedSeqs(stuck)).toEqual([1, 3, 4]);
  });
});
