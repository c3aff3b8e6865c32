import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { BatchGetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import { ddb, output, queueCounts, sqs, uniqueId, waitFor } from "../../../helpers/cloud.js";
import { spool } from "../../../helpers/operations.js";

const COUNT = 50;
const queueUrl = () => output("NotificationsQueueUrl");
const effects = () => output("EffectsTableName");

/** Sends COUNT notifications tagged `tag`; returns their ids and the SQS message ids. */
async function sendNotifications(tag: string): Promise<Map<string, string>> {
  const sent = new Map<string, string>();
  const ids = Array.from({ length: COUNT }, (_, i) => `${tag}-${i}`);
  for (let i = 0; i < ids.length; i += 10) {
    const batch = ids.slice(i, i + 10);
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl(),
        Entries: batch.map((id, n) => {
          const message = spoolMessage({
            queueUrl: queueUrl(),
            body: {
              schemaVersion: 1,
              notificationId: id,
              channel: "email",
              recipient: `${id}@example.com`,
              template: "order-confirmation",
            },
          });
          return {
            Id: `m${n}`,
            MessageBody: message.MessageBody,
            MessageAttributes: message.MessageAttributes,
          };
        }),
      }),
    );
    expect(result.Failed ?? []).toEqual([]);
    for (const ok of result.Successful ?? []) {
      sent.set(batch[Number(ok.Id?.slice(1))] as string, ok.MessageId as string);
    }
  }
  return sent;
}

/** The delivery records (the notification's one effect) that exist for these ids. */
async function deliveries(ids: readonly string[]) {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const { Responses } = await ddb.send(
      new BatchGetCommand({
        RequestItems: {
          [effects()]: {
            Keys: ids.slice(i, i + 100).map((id) => ({ pk: `notification#${id}`, sk: "delivery" })),
            ConsistentRead: true,
          },
        },
      }),
    );
    found.push(...(Responses?.[effects()] ?? []));
  }
  return found;
}

async function consumerState(): Promise<string> {
  const { json } = await spool("consumers", "list", "--json");
  return json.find((c: { name: string }) => c.name === "notifications")?.state;
}

describe("pausing and resuming a consumer", () => {
  it("a paused consumer leaves 50 messages waiting with no effect; resumed, it delivers each exactly once", async () => {
    // How long the running consumer needs for COUNT messages here: a paused one must show
    // nothing for longer than that before the test believes the pause.
    const warmup = [...(await sendNotifications(uniqueId("n-warm"))).keys()];
    const warmStart = Date.now();
    await waitFor(async () => (await deliveries(warmup)).length === COUNT, {
      what: `${COUNT} warm-up deliveries`,
      timeoutMs: 90_000,
    });
    const drainMs = Date.now() - warmStart;
    const quietMs = Math.max(2 * drainMs, 5_000);

    const tag = uniqueId("n-paused");
    try {
      const paused = await spool("consumers", "pause", "notifications", "--json");
      expect(paused.code, paused.err).toBe(0);
      expect(paused.json).toMatchObject({
        consumer: "notifications",
        outcome: "changed",
        before: "Enabled",
        after: "Disabled",
      });
      expect(await consumerState()).toBe("Disabled");

      // Audited: who, when, what, before and after.
      const { json: history } = await spool("consumers", "history", "notifications", "--json");
      expect(history[0]).toMatchObject({
        changeId: paused.json.changeId,
        action: "pause",
        consumer: "notifications",
        before: "Enabled",
        requested: "Disabled",
        after: "Disabled",
        status: "completed",
        operator: { principal: expect.any(String), localUser: expect.any(String) },
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
      });

      // Pausing again changes nothing and says so.
      const again = await spool("consumers", "pause", "notifications", "--json");
      expect(again.code).toBe(0);
      expect(again.json).toMatchObject({ outcome: "unchanged", after: "Disabled" });

      const status = await spool("status", "--json");
      expect(status.json.find((r: { queue: string }) => r.queue === "notifications")).toMatchObject(
        { paused: true, consumers: [{ name: "notifications", state: "Disabled" }] },
      );
      expect((await spool("status")).out).toMatch(/^notifications \(paused\)\s/m);

      const sent = await sendNotifications(tag);
      const ids = [...sent.keys()];
      // Other test files may send to this queue too: ours are at least COUNT of what waits.
      await waitFor(async () => (await queueCounts(queueUrl())).visible >= COUNT, {
        what: `${COUNT} messages waiting on the paused queue`,
      });

      // Watched, not slept through: every poll checks that nothing was delivered and nothing
      // left the queue, for twice as long as the running consumer needed for as many.
      const quietUntil = Date.now() + quietMs;
      let polls = 0;
      while (Date.now() < quietUntil) {
        expect(await deliveries(ids)).toEqual([]);
        const counts = await queueCounts(queueUrl());
        expect(counts.visible).toBeGreaterThanOrEqual(COUNT);
        polls++;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(polls).toBeGreaterThan(3);

      const resumed = await spool("consumers", "resume", "notifications", "--json");
      expect(resumed.code, resumed.err).toBe(0);
      expect(resumed.json).toMatchObject({ outcome: "changed", after: "Enabled" });

      const delivered = await waitFor(
        async () => {
          const found = await deliveries(ids);
          return found.length === COUNT ? found : undefined;
        },
        { what: `${COUNT} deliveries after the resume`, timeoutMs: 90_000 },
      );
      // Exactly once: each delivery is from the message sent for it, and the provider (a
      // conditional put keyed by the notification id) refused no second delivery.
      for (const d of delivered) {
        const id = String(d.pk).replace("notification#", "");
        expect(d.messageId).toBe(sent.get(id));
        expect(d.duplicateDeliveries).toBeUndefined();
      }
      await waitFor(
        async () => {
          const counts = await queueCounts(queueUrl());
          return counts.visible === 0 && counts.inFlight === 0;
        },
        { what: "the notifications queue to drain" },
      );
    } finally {
      // The deployment is shared: whatever happened, the consumer runs again.
      if ((await consumerState()) !== "Enabled") {
        await spool("consumers", "resume", "notifications");
      }
    }
  });
});
