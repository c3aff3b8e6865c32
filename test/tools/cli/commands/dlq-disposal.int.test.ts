import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import { DynamoReplayAudit } from "../../../../tools/cli/lib/audit.js";
import { ddb, output, sqs, takeDeadLetters, uniqueId, waitFor } from "../../../helpers/cloud.js";
import { spool } from "../../../helpers/operations.js";

const effects = () => output("EffectsTableName");
const suppression = (recipient: string) => ({
  pk: `suppressed#${recipient.toLowerCase()}`,
  sk: "suppression",
});

describe("archiving and discarding dead letters nobody will replay", () => {
  // Four notifications to suppressed recipients: two archived, one discarded, one left alone.
  const ids = ["archive-1", "archive-2", "discard", "keep"].map((p) => uniqueId(`n-${p}`));
  const recipients = ids.map((id) => `${id}@bounced.example`);
  const [a1, a2, gone, kept] = recipients as [string, string, string, string];
  const where = (...rs: string[]) => `contains([${rs.map((r) => `'${r}'`).join(", ")}], recipient)`;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "spool-dlq-archive-"));
    for (const [i, recipient] of recipients.entries()) {
      await ddb.send(
        new PutCommand({
          TableName: effects(),
          Item: { ...suppression(recipient), reason: "hard bounce" },
        }),
      );
      await sqs.send(
        new SendMessageCommand(
          spoolMessage({
            queueUrl: output("NotificationsQueueUrl"),
            body: {
              schemaVersion: 1,
              notificationId: ids[i],
              channel: "email",
              recipient,
              template: "order-confirmation",
            },
          }),
        ),
      );
    }
    await waitFor(
      async () => {
        const { json } = await spool("dlq", "list", "notifications", "--limit", "1000", "--json");
        const ours = (json ?? []).filter((l: { body: string }) =>
          recipients.some((r) => l.body.includes(r)),
        );
        return ours.length === recipients.length ? ours : undefined;
      },
      { what: "the four notifications in the DLQ", timeoutMs: 90_000 },
    );
  });

  afterAll(async () => {
    for (const r of recipients) {
      await ddb.send(new DeleteCommand({ TableName: effects(), Key: suppression(r) }));
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("archives the chosen ones to JSON Lines before deleting them, discards another, keeps the rest, and audits both", async () => {
    const archiveArgs = ["--error-code", "RECIPIENT_SUPPRESSED", "--where", where(a1, a2)];

    // Without --yes: a report, nothing written, nothing deleted, nothing audited.
    const dry = await spool(
      "dlq",
      "archive",
      "notifications",
      ...archiveArgs,
      "--to",
      dir,
      "--json",
    );
    expect(dry.code).toBe(0);
    expect(dry.json).toMatchObject({ dryRun: true, matched: 2, removed: 0 });
    expect(await readdir(dir)).toEqual([]);

    const archived = await spool(
      "dlq",
      "archive",
      "notifications",
      ...archiveArgs,
      "--to",
      dir,
      "--yes",
      "--json",
    );
    expect(archived.code).toBe(0);
    expect(archived.json).toMatchObject({ dryRun: false, matched: 2, removed: 2 });
    const [file] = await readdir(dir);
    expect(join(dir, file as string)).toBe(archived.json.archiveLocation);
    const lines = (await readFile(archived.json.archiveLocation, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => JSON.parse(l.body).recipient).sort()).toEqual([a1, a2].sort());
    for (const line of lines) {
      expect(line).toMatchObject({
        version: 1,
        operationId: archived.json.operationId,
        queue: "notifications",
        deadLetter: {
          via: "spool",
          errorCode: "RECIPIENT_SUPPRESSED",
          reason: "permanent-failure",
        },
      });
      expect(line.messageAttributes["correlation-id"]?.StringValue).toBeTruthy();
      expect(line.messageAttributes["spool-dead-letter"]?.DataType).toBe("String");
    }

    const discarded = await spool(
      "dlq",
      "discard",
      "notifications",
      "--where",
      where(gone),
      "--yes",
      "--json",
    );
    expect(discarded.code).toBe(0);
    expect(discarded.json).toMatchObject({ matched: 1, removed: 1 });
    expect(discarded.json.archiveLocation).toBeUndefined();

    // Only the one nobody chose is still a dead letter.
    const { json: left } = await spool("dlq", "list", "notifications", "--limit", "1000", "--json");
    const ours = (left ?? []).filter((l: { body: string }) =>
      recipients.some((r) => l.body.includes(r)),
    );
    expect(ours.map((l: { body: string }) => JSON.parse(l.body).recipient)).toEqual([kept]);

    // The audit table has both operations, who ran them, and every message they removed.
    const audit = new DynamoReplayAudit(ddb, output("OperatorAuditTableName"));
    const history = await audit.history(200);
    const archiveEntry = history.find((e) => e.replayId === archived.json.operationId);
    const discardEntry = history.find((e) => e.replayId === discarded.json.operationId);
    expect(archiveEntry).toMatchObject({
      action: "archive",
      queue: "notifications",
      status: "completed",
      moved: 2,
      archiveLocation: archived.json.archiveLocation,
    });
    expect(archiveEntry?.operator?.localUser).toBeTruthy();
    expect(discardEntry).toMatchObject({ action: "discard", status: "completed", moved: 1 });
    const archivedMessages = await audit.messages(archived.json.operationId);
    expect(archivedMessages.map((m) => m.deadLetterId).sort()).toEqual(
      lines.map((l) => l.messageId).sort(),
    );
    expect(archivedMessages.map((m) => m.bodySha256).sort()).toEqual(
      lines.map((l) => l.bodySha256).sort(),
    );
    const discardedMessages = await audit.messages(discarded.json.operationId);
    expect(discardedMessages).toEqual([
      expect.objectContaining({ action: "discard", deadLetterId: discarded.json.messages[0].id }),
    ]);

    // Leave the queue as it was found.
    await takeDeadLetters(
      output("NotificationsDeadLetterQueueUrl"),
      (m) => m.Body?.includes(kept) ?? false,
      1,
    );
  });
});
