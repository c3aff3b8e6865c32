import { createHash } from "node:crypto";
import { mkdir, open } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { deadLetterFacts } from "./dead-letter-facts.js";
import type { DeadLetter } from "./dead-letters.js";
import { SpoolCliError } from "./errors.js";

/**
 * One archived dead letter, one line of JSON: everything needed to understand it later or to
 * send it again by hand (body byte for byte, every message attribute with its type, the SQS
 * system attributes and Spool's dead-letter metadata).
 */
export interface ArchiveRecord {
  readonly version: 1;
  /** The archive (or discard) operation, as in the audit table. */
  readonly operationId: string;
  readonly archivedAt: string;
  readonly stack: string;
  readonly queue: string;
  readonly deadLetterQueueUrl: string;
  /** Its id in the dead-letter queue. */
  readonly messageId: string;
  readonly originalId: string;
  readonly body: string;
  readonly bodySha256: string;
  /** Every message attribute; binary values base64-encoded. */
  readonly messageAttributes: Record<
    string,
    { DataType: string | undefined; StringValue?: string; BinaryValue?: string }
  >;
  /** SQS's system attributes (SentTimestamp, ApproximateReceiveCount, MessageGroupId…). */
  readonly systemAttributes: Record<string, string>;
  readonly deadLetter: {
    readonly via: DeadLetter["via"];
    readonly reason: string;
    readonly errorClass: string | null;
    readonly errorCode: string | null;
    readonly errorMessage: string | null;
    readonly attempts: number | null;
    readonly firstFailureAt: string | null;
    readonly deadLetteredAt: string;
    readonly sourceQueue: string | null;
    readonly correlationId: string | null;
    readonly messageGroupId: string | null;
    readonly metadata: unknown;
  };
}

export const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

export function archiveRecord(
  letter: DeadLetter,
  context: {
    operationId: string;
    archivedAt: string;
    stack: string;
    queue: string;
    deadLetterQueueUrl: string;
  },
): ArchiveRecord {
  return {
    version: 1,
    ...context,
    messageId: letter.id,
    originalId: letter.originalId,
    body: letter.body,
    bodySha256: sha256(letter.body),
    messageAttributes: Object.fromEntries(
      Object.entries(letter.attributes).map(([name, v]) => [
        name,
        {
          DataType: v.DataType,
          ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}),
          ...(v.BinaryValue !== undefined
            ? { BinaryValue: Buffer.from(v.BinaryValue).toString("base64") }
            : {}),
        },
      ]),
    ),
    systemAttributes: letter.system,
    deadLetter: { ...deadLetterFacts(letter), metadata: letter.metadata ?? null },
  };
}

/** Where archived dead letters go. `write` resolves only once the records are durable. */
export interface ArchiveSink {
  /** Where the records are, for the operator and the audit record. */
  readonly location: string;
  write(records: readonly ArchiveRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Where `--to` says the dead letters go: a local directory, or an S3 bucket and key prefix. */
export type ArchiveTarget =
  | { readonly kind: "directory"; readonly directory: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

/** S3's rules for a bucket name (general purpose buckets). */
const BUCKET = /^(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `--to <dir>` or `--to s3://<bucket>[/<prefix>]`; anything else is a usage error. */
export function parseArchiveTarget(text: string | undefined): ArchiveTarget {
  if (text === undefined || text.trim() === "") {
    throw new SpoolCliError(
      "archive needs --to <dir> or --to s3://<bucket>[/<prefix>]: where the dead letters are written",
      2,
    );
  }
  const s3 = /^s3:\/\/([^/]*)\/?(.*)$/.exec(text);
  if (s3) {
    const [, bucket = "", rest = ""] = s3;
    if (!BUCKET.test(bucket) || bucket.includes("..")) {
      throw new SpoolCliError(`--to names no valid S3 bucket, got "${text}"`, 2);
    }
    const prefix = rest.replace(/\/+$/, "");
    if (prefix !== "" && prefix.split("/").some((p) => p === "" || p === "." || p === "..")) {
      throw new SpoolCliError(
        `--to has an empty or relative part in its S3 prefix, got "${text}"`,
        2,
      );
    }
    return { kind: "s3", bucket, prefix };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new SpoolCliError(
      `--to must be a local directory or s3://<bucket>[/<prefix>], got "${text}"`,
      2,
    );
  }
  return { kind: "directory", directory: isAbsolute(text) ? text : resolve(text) };
}

/** The archive's name, the same for every kind of sink: `<queue>-<time>-<operation>`. */
export function archiveName(name: { queue: string; operationId: string; at: Date }): string {
  const stamp = name.at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const safeQueue = name.queue.replace(/[^A-Za-z0-9_.-]/g, "_");
  return `${safeQueue}-${stamp}-${name.operationId}`;
}

/**
 * A JSON Lines file in a local directory, one per archive operation and never overwritten
 * (`<queue>-<time>-<operation>.jsonl`). Each `write` appends its lines and fsyncs the file before
 * it resolves, so a dead letter is deleted only once its line is on disk; the directory itself is
 * fsynced when the file is created, so the file's name survives a crash too.
 */
export class DirectoryArchive implements ArchiveSink {
  readonly location: string;
  readonly #directory: string;
  #file: Awaited<ReturnType<typeof open>> | undefined;

  constructor(directory: string, name: { queue: string; operationId: string; at: Date }) {
    this.#directory = directory;
    this.location = join(directory, `${archiveName(name)}.jsonl`);
  }

  async write(records: readonly ArchiveRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (!this.#file) {
      await mkdir(this.#directory, { recursive: true });
      // "wx": fail rather than append to (or replace) a file that already exists.
      this.#file = await open(this.location, "wx", 0o600);
      const dir = await open(this.#directory, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }
    await this.#file.write(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    await this.#file.sync();
  }

  async close(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
  }
}
