import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import { parseReplayMarker } from "../../../../lib/spool/runtime/replay-marker.js";
import { DynamoReplayAudit } from "../../../../tools/cli/lib/audit.js";
import {
  config,
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

/**
 * The dead-letter commands against the emulator, in one file on purpose: each scans the whole
 * notifications DLQ and holds what it reads until its pass ends, so two of them running side by
 * side (as separate files do) would hide each other's dead letters.
 */
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

    // Without --yes: a report, nothing written, nothing deleted, nothing audited. Run until it
    // sees both: another file's pass over this DLQ holds letters out of sight for a while (see
    // the discard below), and a dry run that saw one has changed nothing.
    const dry = await waitFor(
      async () => {
        const run = await spool(
          "dlq",
          "archive",
          "notifications",
          ...archiveArgs,
          "--to",
          dir,
          "--json",
        );
        expect(run.code).toBe(0);
        return run.json.matched === 2 ? run : undefined;
      },
      { what: "the dry run to see both letters", timeoutMs: 120_000, intervalMs: 2_000 },
    );
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

    // Another file's scan of this DLQ (the chaos accounting) can hold the letter out of sight for
    // a pass, and a pass ends when nothing is visible; a discard that found nothing removed
    // nothing, so it is simply run again until the letter is back in view.
    const discarded = await waitFor(
      async () => {
        const run = await spool(
          "dlq",
          "discard",
          "notifications",
          "--where",
          where(gone),
          "--yes",
          "--json",
        );
        expect(run.code).toBe(0);
        return run.json.matched > 0 ? run : undefined;
      },
      { what: "the discard to find its dead letter", timeoutMs: 120_000, intervalMs: 2_000 },
    );
    expect(discarded.json).toMatchObject({ matched: 1, removed: 1 });
    expect(discarded.json.archiveLocation).toBeUndefined();

    // Only the one nobody chose is still a dead letter (read until it is in view: see above).
    const ours = await waitFor(
      async () => {
        const { json: left } = await spool(
          "dlq",
          "list",
          "notifications",
          "--limit",
          "1000",
          "--json",
        );
        const found = (left ?? []).filter((l: { body: string }) =>
          recipients.some((r) => l.body.includes(r)),
        );
        return found.length > 0 ? found : undefined;
      },
      { what: "the kept letter in view", timeoutMs: 120_000, intervalMs: 2_000 },
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

describe("what became of a replay, and replaying elsewhere", () => {
  /** Sends one notification per recipient to a suppressed address; waits for all in the DLQ. */
  async function deadLettered(prefix: string, count: number) {
    const ids = Array.from({ length: count }, (_, i) => uniqueId(`n-${prefix}${i}`));
    const recipients = ids.map((id) => `${id}@bounced.example`);
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
            body: notification(ids[i] as string, recipient),
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
        return ours.length === count;
      },
      { what: `the ${count} ${prefix} notifications in the DLQ`, timeoutMs: 90_000 },
    );
    const where = `contains([${recipients.map((r) => `'${r}'`).join(", ")}], recipient)`;
    return { ids, recipients, where };
  }

  it("a replay of 10 letters of which 3 still fail reports 7 delivered, 3 dead-lettered again, replay count 1", async () => {
    const { ids, recipients, where } = await deadLettered("outcome", 10);
    // The fix reaches 7 of the 10: their suppressions are lifted, 3 stay.
    const fixed = recipients.slice(0, 7);
    const stillBlocked = recipients.slice(7);
    for (const r of fixed) {
      await ddb.send(new DeleteCommand({ TableName: effects(), Key: suppression(r) }));
    }

    const replay = await spool("dlq", "replay", "notifications", "--where", where, "--json");
    expect(replay.code).toBe(0);
    expect(replay.json).toMatchObject({ moved: 10, target: "notifications" });
    const replayId: string = replay.json.replayId;

    const report = await waitFor(
      async () => {
        const { code, json } = await spool("dlq", "history", replayId, "--json");
        expect(code).toBe(0);
        return json.settled && json.deadLetteredAgain + json.delivered === 10 ? json : undefined;
      },
      { what: `replay ${replayId} settled`, timeoutMs: 120_000, intervalMs: 2_000 },
    );
    expect(report).toMatchObject({
      replayId,
      moved: 10,
      delivered: 7,
      deadLetteredAgain: 3,
      inFlight: 0,
      tracked: true,
    });
    const again = report.messages.filter(
      (m: { outcome: string }) => m.outcome === "dead-lettered-again",
    );
    expect(again).toHaveLength(3);
    for (const m of again) {
      expect(m).toMatchObject({ replayCount: 1, againErrorCode: "RECIPIENT_SUPPRESSED" });
    }
    // Delivered means delivered: the seven fixed ones reached their effect, the others did not.
    for (const [i, id] of ids.entries()) {
      const delivery = await getItem(effects(), { pk: `notification#${id}`, sk: "delivery" });
      if (i < 7) expect(delivery, id).toBeDefined();
      else expect(delivery, id).toBeUndefined();
    }
    // The table reads the queues again: other files' messages on the notifications queue can
    // make it count some of the ten as possibly still in flight for a moment, so read it until
    // it has settled as the JSON report did.
    const text = await waitFor(
      async () => {
        const run = await spool("dlq", "history", replayId);
        return /delivered\s+7/.test(run.out) ? run : undefined;
      },
      { what: "the history table to settle", timeoutMs: 60_000, intervalMs: 2_000 },
    );
    expect(text.out).toMatch(/delivered\s+7/);
    expect(text.out).toMatch(/dead-lettered again\s+3/);
    // The three died again carrying their replay's mark (the consumer kept it), count 1.
    const letters = await takeDeadLetters(
      output("NotificationsDeadLetterQueueUrl"),
      (m) => stillBlocked.some((r) => m.Body?.includes(r)),
      3,
    );
    for (const letter of letters) {
      expect(parseReplayMarker(letter.message.MessageAttributes)).toMatchObject({
        replayId,
        count: 1,
      });
    }
    for (const r of stillBlocked) {
      await ddb.send(new DeleteCommand({ TableName: effects(), Key: suppression(r) }));
    }
  });

  it("--to sends dead letters into another queue (a quarantine queue outside the stack), not into their own", async () => {
    const { QueueUrl: quarantine } = await sqs.send(
      new CreateQueueCommand({ QueueName: uniqueId("spool-quarantine") }),
    );
    const { recipients, where } = await deadLettered("quarantine", 2);
    try {
      // A FIFO target for a standard queue is refused before anything moves.
      const mismatch = await spool(
        "dlq",
        "replay",
        "notifications",
        "--where",
        where,
        "--to",
        "ops-lab-fifo",
      );
      expect(mismatch.code).toBe(2);
      expect(mismatch.err).toMatch(
        /--to ops-lab-fifo is a FIFO queue and notifications is standard/,
      );

      const replay = await spool(
        "dlq",
        "replay",
        "notifications",
        "--where",
        where,
        "--to",
        quarantine as string,
        "--json",
      );
      expect(replay.code).toBe(0);
      expect(replay.json).toMatchObject({ moved: 2, targetQueueUrl: quarantine });

      // Not in the notifications DLQ any more, and not dead-lettered again by its consumer
      // (the recipients are still suppressed: a replay into notifications would have died).
      const history = await spool("dlq", "history", replay.json.replayId, "--json");
      expect(history.json).toMatchObject({
        target: replay.json.target,
        delivered: 0,
        deadLetteredAgain: 0,
        inFlight: 2,
        settled: false,
        deadLetterQueueUrl: null,
      });
      const { json: left } = await spool(
        "dlq",
        "list",
        "notifications",
        "--limit",
        "1000",
        "--json",
      );
      expect(
        (left ?? []).filter((l: { body: string }) => recipients.some((r) => l.body.includes(r))),
      ).toEqual([]);

      // Both wait in the quarantine queue, body intact, marked with the replay and the target.
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: quarantine,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      expect(Messages.map((m) => JSON.parse(m.Body ?? "{}").recipient).sort()).toEqual(
        [...recipients].sort(),
      );
      for (const m of Messages) {
        expect(parseReplayMarker(m.MessageAttributes)).toMatchObject({
          replayId: replay.json.replayId,
          count: 1,
          target: replay.json.target,
        });
      }
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: quarantine }));
      for (const r of recipients) {
        await ddb.send(new DeleteCommand({ TableName: effects(), Key: suppression(r) }));
      }
    }
  });

  it("archives to S3: the letters go to one object per batch under the operation's folder, then leave the DLQ", async () => {
    const { recipients, where } = await deadLettered("s3-archive", 3);
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    const bucket = uniqueId("spool-archive");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      // A dry run first, until it sees all three (another file's pass may hold some out of sight).
      await waitFor(
        async () => {
          const dry = await spool(
            "dlq",
            "archive",
            "notifications",
            "--where",
            where,
            "--to",
            `s3://${bucket}/dead-letters`,
            "--json",
          );
          return dry.code === 0 && dry.json.matched === 3;
        },
        { what: "the dry run to see the three letters", timeoutMs: 120_000, intervalMs: 2_000 },
      );
      const run = await spool(
        "dlq",
        "archive",
        "notifications",
        "--where",
        where,
        "--to",
        `s3://${bucket}/dead-letters`,
        "--yes",
        "--json",
      );
      expect(run.code, run.err).toBe(0);
      expect(run.json).toMatchObject({ dryRun: false, matched: 3, removed: 3 });
      const location = run.json.archiveLocation as string;
      expect(location).toMatch(
        new RegExp(`^s3://${bucket}/dead-letters/notifications-\\d{8}T\\d{6}Z-`),
      );

      const { Contents = [] } = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: location.slice(`s3://${bucket}/`.length),
        }),
      );
      expect(Contents.length).toBeGreaterThan(0);
      const lines: { body: string; bodySha256: string; deadLetter: { errorCode: string } }[] = [];
      for (const object of Contents) {
        expect(object.Key).toMatch(/\/part-\d{5}\.jsonl$/);
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
        const text = (await got.Body?.transformToString()) ?? "";
        lines.push(
          ...text
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l)),
        );
      }
      expect(lines.map((l) => JSON.parse(l.body).recipient).sort()).toEqual([...recipients].sort());
      for (const line of lines) {
        expect(line.bodySha256).toBe(createHash("sha256").update(line.body).digest("hex"));
        expect(line.deadLetter.errorCode).toBe("RECIPIENT_SUPPRESSED");
      }

      // Gone from the DLQ, and the audit names the S3 folder.
      const { json: left } = await spool(
        "dlq",
        "list",
        "notifications",
        "--limit",
        "1000",
        "--json",
      );
      expect(
        (left ?? []).filter((l: { body: string }) => recipients.some((r) => l.body.includes(r))),
      ).toEqual([]);
      const audit = new DynamoReplayAudit(ddb, output("OperatorAuditTableName"));
      const entry = (await audit.history(200)).find((e) => e.replayId === run.json.operationId);
      expect(entry).toMatchObject({ action: "archive", moved: 3, archiveLocation: location });
    } finally {
      const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const object of Contents) {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
      }
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      s3.destroy();
      for (const r of recipients) {
        await ddb.send(new DeleteCommand({ TableName: effects(), Key: suppression(r) }));
      }
    }
  });
});
