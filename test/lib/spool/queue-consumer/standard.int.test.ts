import { SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { backoffCeilingSeconds } from "../../../../lib/spool/runtime/backoff.js";
import { CORRELATION_ID_ATTRIBUTE } from "../../../../lib/spool/runtime/correlation.js";
import { FAULT_ATTRIBUTE } from "../../../../lib/spool/runtime/faults.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import {
  ddb,
  functionLogLines,
  getItem,
  output,
  queueCounts,
  sqs,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";

const queueUrl = () => output("NotificationsQueueUrl");
const dlqUrl = () => output("NotificationsDeadLetterQueueUrl");
const effects = () => output("EffectsTableName");
const functionName = () => output("NotificationsFunctionName");
// Matches the backoff of test deployments (lib/example/spool-stack.ts).
const TEST_BACKOFF = { baseSeconds: 1, capSeconds: 8 };

function notification(id: string, overrides: Record<string, unknown> = {}) {
  return {
    schemaVersion: 1,
    notificationId: id,
    channel: "email",
    recipient: `${id}@example.com`,
    template: "order-confirmation",
    ...overrides,
  };
}

const delivery = (id: string) => getItem(effects(), { pk: `notification#${id}`, sk: "delivery" });
const waitForDelivery = (id: string, timeoutMs = 30_000) =>
  waitFor(() => delivery(id), { what: `delivery of ${id}`, timeoutMs });

describe.concurrent("standard queue consumer (notifications)", () => {
  it("turns one message into exactly one effect and carries its correlation id", async () => {
    const id = uniqueId("n-one");
    const correlationId = uniqueId("corr");
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({ queueUrl: queueUrl(), body: notification(id), correlationId }),
      ),
    );

    const row = await waitForDelivery(id);
    expect(row.correlationId).toBe(correlationId);
    expect(row.attempt).toBe(1);
    expect(row.duplicateDeliveries).toBeUndefined();
  });

  it("suppresses the same business key sent three times in one batch and once more later", async () => {
    const id = uniqueId("n-dup");
    const body = JSON.stringify(notification(id));
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl(),
        Entries: [0, 1, 2].map((i) => ({ Id: `e${i}`, MessageBody: body })),
      }),
    );
    const first = await waitForDelivery(id);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(), MessageBody: body }));

    // The later duplicate is consumed once the queue has drained. (Not read from the consumer's
    // log: under load MiniStack can attribute a log line to the worker's next invocation, so the
    // "duplicate suppressed" lines are no reliable proof; see docs/emulator-matrix.md.) The
    // queue is shared with this file's retrying tests, so draining can take their backoff.
    await waitFor(
      async () => {
        const { visible, inFlight, delayed } = await queueCounts(queueUrl());
        return visible + inFlight + delayed === 0;
      },
      { what: "the notifications queue drained", timeoutMs: 90_000 },
    );
    const row = await delivery(id);
    expect(row?.messageId).toBe(first.messageId);
    // A second call to the provider would have been refused there and counted here.
    expect(row?.duplicateDeliveries).toBeUndefined();
  });

  it("dead-letters a malformed message after one attempt, with its metadata", async () => {
    const correlationId = uniqueId("corr-bad");
    const marker = uniqueId("broken");
    const sent = await sqs.send(
      new SendMessageCommand(
        spoolMessage({ queueUrl: queueUrl(), body: `{"broken": "${marker}"`, correlationId }),
      ),
    );
    const [letter] = await takeDeadLetters(dlqUrl(), (m) => m.Body?.includes(marker) ?? false, 1);
    expect(letter?.message.Body).toBe(`{"broken": "${marker}"`);
    expect(letter?.metadata).toMatchObject({
      reason: "permanent-failure",
      errorClass: "PermanentError",
      errorCode: "MALFORMED_JSON",
      messageId: sent.MessageId,
      attempts: 1,
      correlationId,
      schemaVersion: null,
      consumer: "notifications",
    });
    expect(letter?.metadata?.sourceQueue).toMatch(/:Spool-Messaging-Notifications-[^:]+$/);
    expect(Date.parse(letter?.metadata?.lastFailureAt ?? "")).toBeGreaterThanOrEqual(
      Date.parse(letter?.metadata?.firstFailureAt ?? ""),
    );
    // The original attributes travel with the dead letter, so a replay keeps the correlation id.
    expect(letter?.message.MessageAttributes?.[CORRELATION_ID_ATTRIBUTE]?.StringValue).toBe(
      correlationId,
    );
  });

  it("dead-letters a message that breaks its schema, naming the fields", async () => {
    const id = uniqueId("n-schema");
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({ queueUrl: queueUrl(), body: notification(id, { channel: "pigeon" }) }),
      ),
    );
    const [letter] = await takeDeadLetters(dlqUrl(), (m) => m.Body?.includes(id) ?? false, 1);
    expect(letter?.metadata?.errorCode).toBe("SCHEMA_INVALID");
    expect(letter?.metadata?.schemaVersion).toBe(1);
    expect(JSON.stringify(letter?.metadata?.errorDetails)).toContain("channel");
    expect(await delivery(id)).toBeUndefined();
  });

  it("refuses a reused idempotency key with different content as permanent", async () => {
    const id = uniqueId("n-reuse");
    await sqs.send(
      new SendMessageCommand(spoolMessage({ queueUrl: queueUrl(), body: notification(id) })),
    );
    await waitForDelivery(id);
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: queueUrl(),
          body: notification(id, { template: "something-else" }),
        }),
      ),
    );
    const [letter] = await takeDeadLetters(
      dlqUrl(),
      (m) => m.Body?.includes("something-else") ?? false,
      1,
    );
    expect(letter?.metadata?.errorCode).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await delivery(id))?.template).toBe("order-confirmation");
  });

  it("dead-letters a business-rule failure at once (suppressed recipient)", async () => {
    const id = uniqueId("n-suppressed");
    const recipient = `${id}@bounced.example`;
    await ddb.send(
      new PutCommand({
        TableName: effects(),
        Item: { pk: `suppressed#${recipient}`, sk: "suppression", reason: "hard bounce" },
      }),
    );
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({ queueUrl: queueUrl(), body: notification(id, { recipient }) }),
      ),
    );
    const [letter] = await takeDeadLetters(dlqUrl(), (m) => m.Body?.includes(id) ?? false, 1);
    expect(letter?.metadata).toMatchObject({ errorCode: "RECIPIENT_SUPPRESSED", attempts: 1 });
  });

  it("retries a transient failure after jittered, growing delays, then succeeds", async () => {
    const id = uniqueId("n-transient");
    const sent = await sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: queueUrl(),
          body: notification(id),
          attributes: { [FAULT_ATTRIBUTE]: "transient:2" },
        }),
      ),
    );
    const row = await waitForDelivery(id, 60_000);
    expect(row.attempt).toBe(3);

    const lines = await waitFor(
      async () => {
        const all = await functionLogLines(functionName(), sent.MessageId ?? "");
        return all.some((l) => l.message === "processed") ? all : undefined;
      },
      { what: "the consumer's log lines" },
    );
    const retries = lines
      .filter((l) => l.message === "transient failure; will retry")
      .sort((a, b) => Number(a.attempt) - Number(b.attempt));
    expect(retries.map((l) => l.attempt)).toEqual([1, 2]);
    const processed = lines.find((l) => l.message === "processed");
    const times = [...retries, processed].map((l) => Date.parse(String(l?.timestamp)));
    for (const [i, retry] of retries.entries()) {
      const delay = Number(retry.retryInSeconds);
      // Full jitter: anywhere from 0 to a ceiling that doubles with each attempt.
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(backoffCeilingSeconds(i + 1, TEST_BACKOFF));
      // The delay is really applied: the next delivery comes after it, and before the queue's
      // own 30 s visibility timeout would have let it return. The poller's wait and a loaded
      // machine (the IAM-enforced pass evaluates every call) add seconds, so the ceiling is the
      // delay plus 15 s: at most 23 s with the test backoff's 8 s cap, still short of 30.
      const gapSeconds = ((times[i + 1] ?? 0) - (times[i] ?? 0)) / 1000;
      expect(gapSeconds).toBeGreaterThanOrEqual(delay - 0.5);
      expect(gapSeconds).toBeLessThan(Math.min(delay + 15, 29));
    }
  });

  it("dead-letters a message that keeps failing transiently after maxReceiveCount attempts", async () => {
    const id = uniqueId("n-exhaust");
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: queueUrl(),
          body: notification(id),
          attributes: { [FAULT_ATTRIBUTE]: "transient:99" },
        }),
      ),
    );
    const [letter] = await takeDeadLetters(dlqUrl(), (m) => m.Body?.includes(id) ?? false, 1, {
      timeoutMs: 90_000,
    });
    expect(letter?.metadata).toMatchObject({
      reason: "retries-exhausted",
      errorClass: "TransientError",
      errorCode: "INJECTED_TRANSIENT",
      attempts: 5,
    });
    expect(await delivery(id)).toBeUndefined();
  });
});
