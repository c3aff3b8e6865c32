import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteMessageCommand, type MessageAttributeValue } from "@aws-sdk/client-sqs";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEAD_LETTER_ATTRIBUTE } from "../../../../lib/spool/runtime/dead-letter.js";
import { renderDisposal } from "../../../../tools/cli/commands/dlq-disposal.js";
import {
  type ArchiveRecord,
  type ArchiveSink,
  DirectoryArchive,
  parseArchiveTarget,
  sha256,
} from "../../../../tools/cli/lib/archive.js";
import { S3Archive } from "../../../../tools/cli/lib/archive-s3.js";
import type {
  ReplayAudit,
  ReplayFinished,
  ReplayMoved,
  ReplayStarted,
} from "../../../../tools/cli/lib/audit.js";
import { type DisposalRequest, disposeDeadLetters } from "../../../../tools/cli/lib/disposal.js";
import type { QueueRef, SourceQueue } from "../../../../tools/cli/lib/stack.js";
import { fakeSqs } from "../../../helpers/fake-sqs.js";

const DLQ = "https://sqs/000/lab-dlq";

const queue: SourceQueue & { deadLetterQueue: QueueRef } = {
  name: "lab",
  url: "https://sqs/000/lab",
  arn: "arn:aws:sqs:us-east-1:000:lab",
  queueName: "lab",
  fifo: false,
  path: "Lab",
  maxReceiveCount: 5,
  deadLetterQueue: {
    url: DLQ,
    arn: "arn:aws:sqs:us-east-1:000:lab-dlq",
    queueName: "lab-dlq",
    fifo: false,
  },
};

function metadata(errorCode: string) {
  const at = "2026-12-01T10:00:00.000Z";
  return {
    [DEAD_LETTER_ATTRIBUTE]: {
      DataType: "String",
      StringValue: JSON.stringify({
        version: 1,
        reason: "permanent-failure",
        errorClass: "PermanentError",
        errorCode,
        errorMessage: `failed with ${errorCode}`,
        messageId: `orig-${errorCode}`,
        attempts: 1,
        firstFailureAt: at,
        lastFailureAt: at,
        sourceQueue: queue.arn,
        correlationId: "corr-1",
        schemaVersion: 1,
        consumer: "lab",
      }),
    },
    "correlation-id": { DataType: "String", StringValue: "corr-1" },
    blob: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) },
  } satisfies Record<string, MessageAttributeValue>;
}

class RecordingAudit implements ReplayAudit {
  readonly calls: { kind: string; record: unknown }[] = [];
  async started(record: ReplayStarted) {
    this.calls.push({ kind: "started", record });
  }
  async moved(_id: string, record: ReplayMoved) {
    this.calls.push({ kind: "moved", record });
  }
  async finished(_id: string, record: ReplayFinished) {
    this.calls.push({ kind: "finished", record });
  }
}

/** A sink that remembers what it was given, and what the DLQ still held at that moment. */
class MemorySink implements ArchiveSink {
  readonly location = "memory://lab";
  readonly records: ArchiveRecord[] = [];
  readonly inQueueWhenWritten: boolean[] = [];
  fail = false;
  closed = false;
  constructor(readonly held: () => string[]) {}
  async write(records: readonly ArchiveRecord[]) {
    if (this.fail) throw new Error("disk full");
    for (const r of records) {
      this.records.push(r);
      this.inQueueWhenWritten.push(this.held().includes(r.messageId));
    }
  }
  async close() {
    this.closed = true;
  }
}

const operator = { principal: "arn:aws:iam::000:user/ops", localUser: "ops" };
let sqs: ReturnType<typeof fakeSqs>;
let audit: RecordingAudit;
let sink: MemorySink;

const request = (overrides: Partial<DisposalRequest> = {}): DisposalRequest => ({
  action: "archive",
  queue,
  filter: { errorCodes: ["RECIPIENT_SUPPRESSED"] },
  dryRun: false,
  holdSeconds: 60,
  ...overrides,
});
const deps = () => ({
  sqs: sqs.client,
  audit,
  archive: sink,
  operator,
  stack: "Spool",
  newOperationId: () => "op-1",
});

beforeEach(() => {
  sqs = fakeSqs();
  audit = new RecordingAudit();
  sink = new MemorySink(() => sqs.messages(DLQ).map((m) => m.id));
});

function fill() {
  return {
    a: sqs.put(DLQ, '{"n":1}', metadata("RECIPIENT_SUPPRESSED")),
    b: sqs.put(DLQ, '{"n":2}', metadata("SCHEMA_INVALID")),
    c: sqs.put(DLQ, '{"n":3}', metadata("RECIPIENT_SUPPRESSED")),
  };
}

describe("dlq archive", () => {
  it("in a dry run, reports the matches and writes, deletes and audits nothing", async () => {
    const { a, c } = fill();
    const outcome = await disposeDeadLetters(request({ dryRun: true }), deps());
    expect(outcome).toMatchObject({ dryRun: true, examined: 3, matched: 2, removed: 0 });
    expect(outcome.messages.map((m) => m.id).sort()).toEqual([a, c].sort());
    expect(sink.records).toEqual([]);
    expect(audit.calls).toEqual([]);
    expect(sqs.visible(DLQ)).toHaveLength(3);
    expect(renderDisposal(outcome)).toContain("Run again with --yes");
  });

  it("writes each match (body, attributes, metadata) before deleting it, and audits it", async () => {
    const { a, b, c } = fill();
    const outcome = await disposeDeadLetters(request(), deps());
    expect(outcome).toMatchObject({ removed: 2, matched: 2, archiveLocation: "memory://lab" });
    expect(sqs.messages(DLQ).map((m) => m.id)).toEqual([b]);
    expect(sqs.visible(DLQ)).toHaveLength(1);
    // Written while still in the DLQ: deleted only after the sink said it was durable.
    expect(sink.inQueueWhenWritten).toEqual([true, true]);
    expect(sink.closed).toBe(true);
    const record = sink.records.find((r) => r.messageId === a);
    expect(record).toMatchObject({
      version: 1,
      operationId: "op-1",
      queue: "lab",
      body: '{"n":1}',
      bodySha256: sha256('{"n":1}'),
      messageAttributes: {
        "correlation-id": { DataType: "String", StringValue: "corr-1" },
        blob: { DataType: "Binary", BinaryValue: "AQID" },
      },
      deadLetter: {
        via: "spool",
        errorCode: "RECIPIENT_SUPPRESSED",
        errorClass: "PermanentError",
        attempts: 1,
        sourceQueue: queue.arn,
        deadLetteredAt: "2026-12-01T10:00:00.000Z",
      },
    });
    expect(record?.systemAttributes.SentTimestamp).toBeDefined();
    expect(audit.calls.map((c) => c.kind)).toEqual(["started", "moved", "moved", "finished"]);
    expect(audit.calls[0]?.record).toMatchObject({
      replayId: "op-1",
      action: "archive",
      archiveLocation: "memory://lab",
      filter: expect.stringContaining("RECIPIENT_SUPPRESSED"),
    });
    expect(audit.calls.filter((x) => x.kind === "moved").map((x) => x.record)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "archive", deadLetterId: a, archivedTo: "memory://lab" }),
        expect.objectContaining({ action: "archive", deadLetterId: c }),
      ]),
    );
    expect(audit.calls[3]?.record).toMatchObject({ status: "completed", moved: 2, failed: 0 });
  });

  it("never deletes what it could not archive: the letters stay, visible, and the audit says failed", async () => {
    fill();
    sink.fail = true;
    const outcome = await disposeDeadLetters(request(), deps());
    expect(outcome.removed).toBe(0);
    expect(outcome.failures).toHaveLength(2);
    expect(outcome.failures[0]?.error).toMatch(/not archived, so not deleted: disk full/);
    expect(sqs.mock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(sqs.visible(DLQ)).toHaveLength(3);
    expect(audit.calls.at(-1)?.record).toMatchObject({ status: "failed", moved: 0, failed: 2 });
  });

  it("refuses to archive for real without a sink or an audit", async () => {
    await expect(disposeDeadLetters(request(), { ...deps(), archive: undefined })).rejects.toThrow(
      /archive needs somewhere to write/,
    );
    await expect(disposeDeadLetters(request(), { ...deps(), audit: undefined })).rejects.toThrow(
      /archive needs an audit table/,
    );
  });
});

describe("dlq discard", () => {
  it("deletes exactly the matches, writes no archive, and audits ids with body hashes", async () => {
    const { a, b, c } = fill();
    const outcome = await disposeDeadLetters(
      request({ action: "discard", filter: { errorCodes: ["SCHEMA_INVALID"] } }),
      deps(),
    );
    expect(outcome).toMatchObject({ action: "discard", removed: 1, matched: 1 });
    expect(outcome.archiveLocation).toBeUndefined();
    expect(
      sqs
        .messages(DLQ)
        .map((m) => m.id)
        .sort(),
    ).toEqual([a, c].sort());
    expect(sink.records).toEqual([]);
    expect(audit.calls[0]?.record).toMatchObject({ action: "discard", method: "receive-delete" });
    expect(audit.calls[1]?.record).toMatchObject({
      action: "discard",
      deadLetterId: b,
      bodySha256: sha256('{"n":2}'),
    });
    expect(renderDisposal(outcome)).toMatch(/^Discarded 1 of 3 dead letters/);
  });

  it("stops at --limit", async () => {
    fill();
    const outcome = await disposeDeadLetters(
      request({ action: "discard", filter: {}, limit: 2 }),
      deps(),
    );
    expect(outcome.removed).toBe(2);
    expect(sqs.messages(DLQ)).toHaveLength(1);
  });
});

describe("the directory archive", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "spool-archive-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("appends JSON Lines to a new file per operation, creating the directory", async () => {
    const target = join(dir, "nested", "archive");
    const archive = new DirectoryArchive(target, {
      queue: "lab",
      operationId: "op-1",
      at: new Date("2026-12-06T20:00:00.123Z"),
    });
    const record = { version: 1, messageId: "m1", body: "x" } as unknown as ArchiveRecord;
    await archive.write([record]);
    await archive.write([{ ...record, messageId: "m2" }]);
    await archive.close();
    expect(archive.location).toBe(join(target, "lab-20261206T200000Z-op-1.jsonl"));
    const lines = (await readFile(archive.location, "utf8")).trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).messageId)).toEqual(["m1", "m2"]);
    // A second archive with the same name refuses to overwrite the first.
    const again = new DirectoryArchive(target, {
      queue: "lab",
      operationId: "op-1",
      at: new Date("2026-12-06T20:00:00.123Z"),
    });
    await expect(again.write([record])).rejects.toThrow(/EEXIST/);
    expect(await readdir(target)).toHaveLength(1);
  });

  it("refuses a missing, malformed or unknown --to as a usage error (exit 2)", () => {
    for (const bad of [
      undefined,
      "",
      "s3://",
      "s3://Upper-Case/x",
      "s3://ab",
      "s3://bucket/../x",
      "s3://bucket/a//b",
      "gs://bucket/prefix",
    ]) {
      try {
        parseArchiveTarget(bad);
        expect.unreachable(String(bad));
      } catch (error) {
        expect((error as { exitCode: number }).exitCode, String(bad)).toBe(2);
      }
    }
    expect(parseArchiveTarget("/tmp/x")).toEqual({ kind: "directory", directory: "/tmp/x" });
    expect(parseArchiveTarget("s3://spool-archive")).toEqual({
      kind: "s3",
      bucket: "spool-archive",
      prefix: "",
    });
    expect(parseArchiveTarget("s3://spool.archive/dead/letters/")).toEqual({
      kind: "s3",
      bucket: "spool.archive",
      prefix: "dead/letters",
    });
  });
});

describe("S3Archive", () => {
  let s3: AwsClientStub<S3Client>;
  beforeEach(() => {
    s3 = mockClient(S3Client);
  });
  afterEach(() => s3.restore());

  const name = {
    queue: "lab/orders",
    operationId: "op-1",
    at: new Date("2026-12-06T20:00:00.123Z"),
  };
  const record = { version: 1, messageId: "m1", body: "x" } as unknown as ArchiveRecord;

  it("writes each batch as a new object under one folder per operation, never replacing one", async () => {
    s3.on(PutObjectCommand).resolves({});
    const archive = new S3Archive(new S3Client({}), { bucket: "keep", prefix: "dlq" }, name);
    expect(archive.location).toBe("s3://keep/dlq/lab_orders-20261206T200000Z-op-1/");
    await archive.write([record, { ...record, messageId: "m2" }]);
    await archive.write([]);
    await archive.write([{ ...record, messageId: "m3" }]);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual([
      "dlq/lab_orders-20261206T200000Z-op-1/part-00001.jsonl",
      "dlq/lab_orders-20261206T200000Z-op-1/part-00002.jsonl",
    ]);
    expect(puts.every((p) => p.IfNoneMatch === "*" && p.ChecksumAlgorithm === "SHA256")).toBe(true);
    expect(
      String(puts[0]?.Body)
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).messageId),
    ).toEqual(["m1", "m2"]);
  });

  it("fails the write when S3 does not store the object, and retries it under the same key", async () => {
    s3.on(PutObjectCommand).rejectsOnce(new Error("SlowDown")).resolves({});
    const archive = new S3Archive(new S3Client({}), { bucket: "keep", prefix: "" }, name);
    await expect(archive.write([record])).rejects.toThrow("SlowDown");
    await archive.write([record]);
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key)).toEqual([
      "lab_orders-20261206T200000Z-op-1/part-00001.jsonl",
      "lab_orders-20261206T200000Z-op-1/part-00001.jsonl",
    ]);
  });
});
