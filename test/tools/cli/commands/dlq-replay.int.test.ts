import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import {
  ddb,
  functionLogLines,
  getItem,
  output,
  sqs,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";
import { spool } from "../../../helpers/operations.js";

const effects = () => output("EffectsTableName");
const suppression = (recipient: string) => ({
  pk: `suppressed#${recipient.toLowerCase()}`,
  sk: "suppression",
});

function notification(id: string, recipient: string) {
  return {
    schemaVersion: 1,
    notificationId: id,
    channel: "email",
    recipient,
    template: "order-confirmation",
  };
}

describe("replaying dead letters after a fix", () => {
  it("a notification dead-lettered for a suppressed recipient is delivered exactly once after the suppression is lifted and it is replayed", async () => {
    const id = uniqueId("n-fixed");
    const recipient = `${id}@bounced.example`;
    const stillBlocked = uniqueId("n-blocked");
    const blockedRecipient = `${stillBlocked}@bounced.example`;
    const correlationId = uniqueId("corr");
    for (const r of [recipient, blockedRecipient]) {
      await ddb.send(
        new PutCommand({
          TableName: effects(),
          Item: { ...suppression(r), reason: "hard bounce" },
        }),
      );
    }
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: output("NotificationsQueueUrl"),
          body: notification(id, recipient),
          correlationId,
        }),
      ),
    );
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: output("NotificationsQueueUrl"),
          body: notification(stillBlocked, blockedRecipient),
        }),
      ),
    );

    // The operator sees both dead letters, and why they died.
    const letters = await waitFor(
      async () => {
        const { json } = await spool("dlq", "list", "notifications", "--limit", "1000", "--json");
        const found = (json ?? []).filter(
          (l: { body: string }) => l.body.includes(id) || l.body.includes(stillBlocked),
        );
        return found.length === 2 ? found : undefined;
      },
      { what: "both notifications in the DLQ", timeoutMs: 60_000 },
    );
    for (const letter of letters) {
      expect(letter).toMatchObject({
        errorCode: "RECIPIENT_SUPPRESSED",
        errorClass: "PermanentError",
        reason: "permanent-failure",
        attempts: 1,
      });
    }
    expect(await getItem(effects(), { pk: `notification#${id}`, sk: "delivery" })).toBeUndefined();

    // The fix: lift one suppression. Then look first, and replay only that recipient's.
    await ddb.send(new DeleteCommand({ TableName: effects(), Key: suppression(recipient) }));
    const filter = [
      "--error-code",
      "RECIPIENT_SUPPRESSED",
      "--where",
      `recipient == '${recipient}'`,
    ];
    const dryRun = await spool("dlq", "replay", "notifications", ...filter, "--dry-run", "--json");
    expect(dryRun.json).toMatchObject({ matched: 1, moved: 0 });
    const replay = await spool("dlq", "replay", "notifications", ...filter, "--json");
    expect(replay.code).toBe(0);
    expect(replay.json).toMatchObject({ matched: 1, moved: 1 });

    const delivery = await waitFor(
      () => getItem(effects(), { pk: `notification#${id}`, sk: "delivery" }),
      { what: `delivery of ${id}` },
    );
    // The replayed message carried the original correlation id onward.
    expect(delivery.correlationId).toBe(correlationId);
    expect(delivery.messageId).toBe(replay.json.messages[0].newMessageId);

    // Exactly once: the replay is consumed once, and nothing is left to replay again.
    await waitFor(
      async () =>
        (await functionLogLines(output("NotificationsFunctionName"), id)).some(
          (l) => l.message === "processed",
        ),
      { what: "the consumer's processed line" },
    );
    const again = await spool("dlq", "replay", "notifications", ...filter, "--json");
    expect(again.json).toMatchObject({ matched: 0, moved: 0 });
    const lines = await functionLogLines(output("NotificationsFunctionName"), id);
    expect(lines.filter((l) => l.message === "processed")).toHaveLength(1);
    expect(
      (await getItem(effects(), { pk: `notification#${id}`, sk: "delivery" }))?.duplicateDeliveries,
    ).toBeUndefined();

    // The other recipient is still suppressed, so its dead letter stayed where it was.
    const [blocked] = await takeDeadLetters(
      output("NotificationsDeadLetterQueueUrl"),
      (m) => m.Body?.includes(stillBlocked) ?? false,
      1,
    );
    expect(blocked?.metadata?.errorCode).toBe("RECIPIENT_SUPPRESSED");
    await ddb.send(new DeleteCommand({ TableName: effects(), Key: suppression(blockedRecipient) }));
  });
});
