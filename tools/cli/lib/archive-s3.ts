import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type ArchiveRecord, type ArchiveSink, archiveName } from "./archive.js";

/**
 * Dead letters archived to S3: one JSON Lines object per batch the disposal writes
 * (`<prefix>/<queue>-<time>-<operation>/part-00001.jsonl`, `part-00002.jsonl`…), so a long archive
 * never rewrites what it already wrote and a letter is deleted only once the object holding it is
 * stored. S3 acknowledges a PutObject only once the object is durably stored; the SDK sends a
 * SHA-256 checksum S3 verifies before it acknowledges, and `If-None-Match: *` makes S3 refuse
 * rather than replace an object already at the key. The bucket's own settings (its default
 * encryption, versioning, Object Lock, lifecycle) decide how long the archive is kept: pick one
 * meant to keep records, not a payload store whose objects expire.
 */
export class S3Archive implements ArchiveSink {
  readonly location: string;
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #folder: string;
  #parts = 0;

  constructor(
    s3: S3Client,
    target: { readonly bucket: string; readonly prefix: string },
    name: { queue: string; operationId: string; at: Date },
  ) {
    this.#s3 = s3;
    this.#bucket = target.bucket;
    this.#folder = `${target.prefix ? `${target.prefix}/` : ""}${archiveName(name)}/`;
    this.location = `s3://${this.#bucket}/${this.#folder}`;
  }

  async write(records: readonly ArchiveRecord[]): Promise<void> {
    if (records.length === 0) return;
    const part = this.#parts + 1;
    await this.#s3.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: `${this.#folder}part-${String(part).padStart(5, "0")}.jsonl`,
        Body: records.map((r) => `${JSON.stringify(r)}\n`).join(""),
        ContentType: "application/x-ndjson",
        ChecksumAlgorithm: "SHA256",
        IfNoneMatch: "*",
      }),
    );
    // Counted only once stored: a failed write is retried by the disposal under the same key.
    this.#parts = part;
  }

  async close(): Promise<void> {
    // Nothing held open: every write is a whole object.
  }
}
