import type { Logger } from "@aws-lambda-powertools/logger";
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBRecord } from "aws-lambda";
import { CORRELATION_ID_ATTRIBUTE } from "../../runtime/correlation.js";
import { DEAD_LETTER_ATTRIBUTE, type DeadLetterMetadata } from "../../runtime/dead-letter.js";
import { intEnv, oneOfEnv, optionalEnv, requireEnv } from "../../runtime/env.js";
import { AnyEvent, type SpoolEvent } from "../../runtime/envelope.js";
import { TransientError } from "../../runtime/errors.js";
import { EVENTBRIDGE_PUT_EVENTS_BYTES } from "../../runtime/limits.js";
import { EVENT_POINTER_FIELD, type PayloadObjects } from "../../runtime/payload-pointer.js";
import { PAYLOAD_BUCKET_ENV } from "../../runtime/payload-switch.js";
import {
  DEFAULT_EVENT_OFFLOAD_THRESHOLD_BYTES,
  OUTBOX_EXPIRY_ATTRIBUTE,
  OUTBOX_KEY_ATTRIBUTE,
  PUBLISHER_ENV,
  STREAM_FAILURE_MODES,
  type StreamFailureMode,
} from "../contract.js";
import { entrySize, needsOffload, offloadOversized } from "./offload.js";

export { entrySize } from "./offload.js";

/**
 * The outbox publisher: outbox rows from the table's stream → EventBridge, at least once.
 *
 * Written by hand because Powertools' batch processor handles one record at a time, while
 * PutEvents takes ten entries a call and reports each entry's fate separately: only the entries
 * that failed are retried, and only the records whose events are still unpublished go back to
 * the stream.
 *
 * A crash (or a failed checkpoint) after PutEvents re-publishes events that were already sent.
 * That is allowed by design: every consumer deduplicates by the event id, which a re-publish
 * keeps.
 */

const MAX_ENTRIES_PER_CALL = 10;

/** Entry error codes that mean the event itself is wrong: sending it again cannot help. */
const PERMANENT_ENTRY_ERRORS = new Set([
  "MalformedDetail",
  "InvalidArgument",
  "ValidationException",
  // Not NotAuthorizedForSourceException: envelopes never carry an aws.* source, so it means the
  // publisher's permissions are wrong, which a fix and a retry cure (the stream keeps the batch).
]);

/**
 * How the publisher tells the event source mapping which records to retry.
 * - `report`: a partial batch response naming the first unpublished record (AWS with
 *   ReportBatchItemFailures): records before it are checkpointed.
 * - `throw`: fail the whole invocation, so the whole batch is retried. For event sources that
 *   ignore partial batch responses on streams (MiniStack 1.5.33): returning one there would
 *   checkpoint the unpublished records, losing them.
 */

export interface PublisherConfig {
  readonly eventBusName: string;
  readonly outboxTable: string;
  /** Where events EventBridge refuses for good go, with their dead-letter metadata. */
  readonly deadLetterQueueUrl: string;
  /** How long a published row is kept before TTL removes it. */
  readonly publishedTtlSeconds: number;
  /** PutEvents attempts per entry within one invocation (then the stream retries). */
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryCapMs: number;
  readonly failureMode: StreamFailureMode;
  readonly publisherName: string;
  /** The PayloadStore's bucket, when the outbox has one: oversized events are offloaded to it. */
  readonly payloadBucket: string | undefined;
  /** Entries above this many bytes (entrySize) are offloaded, when there is a bucket. */
  readonly offloadThresholdBytes: number;
}

export interface PublisherDeps {
  readonly events: EventBridgeClient;
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Reads and writes the payload store's objects; required with `payloadBucket`. */
  readonly payloadObjects?: PayloadObjects | undefined;
  readonly logger: Pick<Logger, "info" | "warn" | "error">;
  readonly now: () => Date;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export function publisherConfigFromEnv(env: NodeJS.ProcessEnv = process.env): PublisherConfig {
  const setBy = "the TransactionalOutbox construct";
  return {
    eventBusName: requireEnv(PUBLISHER_ENV.eventBusName, setBy, env),
    outboxTable: requireEnv(PUBLISHER_ENV.outboxTable, setBy, env),
    deadLetterQueueUrl: requireEnv(PUBLISHER_ENV.deadLetterQueueUrl, setBy, env),
    publishedTtlSeconds: intEnv(
      PUBLISHER_ENV.publishedTtlSeconds,
      { min: 60, fallback: 7 * 86_400 },
      env,
    ),
    maxAttempts: intEnv(PUBLISHER_ENV.publishAttempts, { min: 1, max: 10, fallback: 3 }, env),
    retryBaseMs: 100,
    retryCapMs: 2_000,
    failureMode: oneOfEnv(PUBLISHER_ENV.streamFailureMode, STREAM_FAILURE_MODES, "report", env),
    publisherName: optionalEnv("AWS_LAMBDA_FUNCTION_NAME", env) ?? "outbox-publisher",
    payloadBucket: optionalEnv(PAYLOAD_BUCKET_ENV, env),
    offloadThresholdBytes: intEnv(
      PUBLISHER_ENV.offloadThresholdBytes,
      {
        min: 0,
        max: EVENTBRIDGE_PUT_EVENTS_BYTES - 1,
        fallback: DEFAULT_EVENT_OFFLOAD_THRESHOLD_BYTES,
      },
      env,
    ),
  };
}

interface Candidate {
  readonly record: DynamoDBRecord;
  readonly id: string | undefined;
  readonly event?: SpoolEvent;
  readonly entry?: PutEventsRequestEntry;
  /** Raw JSON of what was read, for the dead letter when the row is unreadable. */
  readonly body: string;
  /** Over the offload threshold: published as a pointer to the payload store. */
  readonly offload?: boolean;
}

interface Failure {
  readonly code: string;
  readonly message: string;
  readonly errorClass: string;
}

export interface PublishReport {
  readonly published: string[];
  readonly deadLettered: string[];
  readonly unpublished: string[];
}

/** Reads one stream record into a PutEvents entry, or says why it cannot be published. */
function readCandidate(
  record: DynamoDBRecord,
  config: PublisherConfig,
): { candidate: Candidate; failure?: Failure } {
  const image = record.dynamodb?.NewImage;
  const unreadable = (id: string | undefined, message: string, code = "OUTBOX_ROW_UNREADABLE") => ({
    candidate: { record, id, body: JSON.stringify(image ?? null) },
    failure: { code, message, errorClass: "PermanentError" },
  });
  if (!image) return unreadable(undefined, "the stream record has no NewImage");
  const row = unmarshall(image as Record<string, AttributeValue>);
  const id = typeof row[OUTBOX_KEY_ATTRIBUTE] === "string" ? row[OUTBOX_KEY_ATTRIBUTE] : undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(row.event));
  } catch {
    return unreadable(id, `outbox row ${id ?? "(no id)"} has no JSON event`);
  }
  // A row written by outboxPutLarge holds a pointer detail: the envelope without its `data`,
  // which is in the payload store. Its envelope fields are checked all the same.
  const pointerRow = parsed !== null && typeof parsed === "object" && EVENT_POINTER_FIELD in parsed;
  const checked = AnyEvent.safeParse(pointerRow ? { data: null, ...(parsed as object) } : parsed);
  if (!checked.success) {
    const issues = checked.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".")}: ${i.message}`)
      .join("; ");
    return unreadable(
      id,
      `outbox row ${id ?? "(no id)"} holds a malformed envelope: ${issues}`,
      "OUTBOX_EVENT_INVALID",
    );
  }
  if (checked.data.id !== id) {
    return unreadable(
      id,
      `outbox row ${id} holds event ${checked.data.id}: the ids must match`,
      "OUTBOX_EVENT_INVALID",
    );
  }
  const event = checked.data;
  const entry: PutEventsRequestEntry = {
    EventBusName: config.eventBusName,
    Source: event.source,
    DetailType: event.type,
    // The stored JSON as written by the producer, so a re-publish is byte-identical.
    Detail: String(row.event),
    Time: new Date(event.time),
  };
  const candidate: Candidate = { record, id, event, entry, body: String(row.event) };
  if (config.payloadBucket !== undefined && needsOffload(entry, config.offloadThresholdBytes)) {
    return { candidate: { ...candidate, offload: true } };
  }
  const size = entrySize(entry);
  if (size >= EVENTBRIDGE_PUT_EVENTS_BYTES) {
    return {
      candidate,
      failure: {
        code: "ENTRY_TOO_LARGE",
        message: `event ${id} is ${size} bytes; EventBridge accepts less than ${EVENTBRIDGE_PUT_EVENTS_BYTES}`,
        errorClass: "PermanentError",
      },
    };
  }
  return { candidate };
}

export async function publishOutbox(
  records: DynamoDBRecord[],
  config: PublisherConfig,
  deps: PublisherDeps,
): Promise<DynamoDBBatchResponse & { report: PublishReport }> {
  const permanent = new Map<DynamoDBRecord, { candidate: Candidate; failure: Failure }>();
  const read: Candidate[] = [];
  for (const record of records) {
    // The event source filter passes INSERTs only; a MODIFY is our own status update.
    if (record.eventName !== "INSERT") continue;
    const { candidate, failure } = readCandidate(record, config);
    if (failure) permanent.set(record, { candidate, failure });
    else read.push(candidate);
  }
  const { ready: sendable, failed } = await offloadOversized(read, config, deps);
  const notStored = failed.map((c) => c.record);

  const { published, transient, refused } = await putWithRetries(sendable, config, deps);
  for (const [candidate, failure] of refused) {
    permanent.set(candidate.record, { candidate, failure });
  }

  const unpublished = new Set<DynamoDBRecord>([...transient.keys(), ...notStored]);
  const deadLettered: string[] = [];
  for (const { candidate, failure } of permanent.values()) {
    try {
      await deadLetter(candidate, failure, config, deps);
      deadLettered.push(candidate.id ?? candidate.record.eventID ?? "(unknown)");
    } catch (error) {
      // Nothing may be dropped: an event that cannot be dead-lettered goes back to the stream.
      deps.logger.error("could not dead-letter an unpublishable event", {
        eventId: candidate.id,
        error: (error as Error).message,
      });
      unpublished.add(candidate.record);
    }
  }
  await markPublished(published, config, deps);

  const report: PublishReport = {
    published: published.map(([c]) => c.id as string),
    deadLettered,
    unpublished: [...unpublished].map((r) => r.eventID ?? "(unknown)"),
  };
  deps.logger.info("outbox batch done", {
    records: records.length,
    published: report.published.length,
    deadLettered: report.deadLettered.length,
    unpublished: report.unpublished.length,
  });
  if (unpublished.size === 0) return { batchItemFailures: [], report };

  // The stream resumes from the earliest unpublished record, so report that one.
  const first = records.find((r) => unpublished.has(r));
  if (config.failureMode === "throw") {
    throw new TransientError(
      `${unpublished.size} outbox event(s) are not published yet; failing the batch so the stream retries it`,
      { code: "OUTBOX_UNPUBLISHED", details: { unpublished: report.unpublished } },
    );
  }
  return {
    batchItemFailures: [{ itemIdentifier: first?.dynamodb?.SequenceNumber ?? "" }],
    report,
  };
}

interface PutOutcome {
  readonly published: [Candidate, string][];
  readonly transient: Map<DynamoDBRecord, Failure>;
  readonly refused: [Candidate, Failure][];
}

/**
 * The PutEvents calls for these candidates: at most ten entries each, and entries whose sizes
 * add up to less than the limit, which applies to the whole call and not only to each entry (ten
 * large events in one call would be refused together, and retried together forever).
 */
export function putEventsCalls<T extends { entry?: PutEventsRequestEntry | undefined }>(
  candidates: readonly T[],
): T[][] {
  const calls: T[][] = [];
  let call: T[] = [];
  let bytes = 0;
  for (const candidate of candidates) {
    const size = candidate.entry ? entrySize(candidate.entry) : 0;
    if (
      call.length === MAX_ENTRIES_PER_CALL ||
      (call.length > 0 && bytes + size >= EVENTBRIDGE_PUT_EVENTS_BYTES)
    ) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(candidate);
    bytes += size;
  }
  if (call.length) calls.push(call);
  return calls;
}

async function putWithRetries(
  candidates: Candidate[],
  config: PublisherConfig,
  deps: PublisherDeps,
): Promise<PutOutcome> {
  const published: [Candidate, string][] = [];
  const refused: [Candidate, Failure][] = [];
  const transient = new Map<DynamoDBRecord, Failure>();
  let pending = candidates;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const retry: Candidate[] = [];
    for (const chunk of putEventsCalls(pending)) {
      try {
        const result = await deps.events.send(
          new PutEventsCommand({ Entries: chunk.map((c) => c.entry as PutEventsRequestEntry) }),
        );
        const entries = result.Entries ?? [];
        chunk.forEach((candidate, index) => {
          const outcome = entries[index];
          if (outcome?.EventId && !outcome.ErrorCode) {
            published.push([candidate, outcome.EventId]);
            transient.delete(candidate.record);
            return;
          }
          const failure: Failure = {
            code: outcome?.ErrorCode ?? "NoResultEntry",
            message: outcome?.ErrorMessage ?? "PutEvents returned no result for this entry",
            errorClass: "PutEventsEntryError",
          };
          if (PERMANENT_ENTRY_ERRORS.has(failure.code)) {
            refused.push([candidate, failure]);
            transient.delete(candidate.record);
          } else {
            transient.set(candidate.record, failure);
            retry.push(candidate);
          }
        });
      } catch (error) {
        // The SDK already retried throttling and 5xx; the whole chunk waits for the next try.
        const failure: Failure = {
          code: (error as Error).name,
          message: (error as Error).message,
          errorClass: (error as Error).name,
        };
        for (const candidate of chunk) {
          transient.set(candidate.record, failure);
          retry.push(candidate);
        }
      }
    }
    if (retry.length === 0 || attempt >= config.maxAttempts) break;
    deps.logger.warn("retrying the entries PutEvents did not accept", {
      attempt,
      entries: retry.map((c) => ({ eventId: c.id, ...transient.get(c.record) })),
    });
    const ceiling = Math.min(config.retryCapMs, config.retryBaseMs * 2 ** (attempt - 1));
    await deps.sleep(Math.floor(deps.random() * ceiling));
    pending = retry;
  }
  return { published, transient, refused };
}

async function deadLetter(
  candidate: Candidate,
  failure: Failure,
  config: PublisherConfig,
  deps: PublisherDeps,
): Promise<void> {
  const now = deps.now().toISOString();
  const metadata: DeadLetterMetadata = {
    version: 1,
    reason: "permanent-failure",
    errorClass: failure.errorClass,
    errorCode: failure.code,
    errorMessage: failure.message,
    messageId: candidate.id ?? candidate.record.eventID ?? "(unknown)",
    attempts: 1,
    firstFailureAt: now,
    lastFailureAt: now,
    // For the publisher the source is the outbox stream; a replay writes the event back.
    sourceQueue: candidate.record.eventSourceARN ?? "(unknown)",
    correlationId: candidate.event?.correlationId ?? "(unknown)",
    schemaVersion: candidate.event?.schemaVersion ?? null,
    consumer: config.publisherName,
  };
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: config.deadLetterQueueUrl,
      MessageBody: candidate.body,
      MessageAttributes: {
        [DEAD_LETTER_ATTRIBUTE]: { DataType: "String", StringValue: JSON.stringify(metadata) },
        ...(candidate.event
          ? {
              [CORRELATION_ID_ATTRIBUTE]: {
                DataType: "String",
                StringValue: candidate.event.correlationId,
              },
            }
          : {}),
      },
    }),
  );
  deps.logger.warn("outbox event dead-lettered", { eventId: candidate.id, failure });
  if (candidate.id) {
    await updateRow(candidate.id, "FAILED", config, deps, {
      failedAt: now,
      failure: `${failure.code}: ${failure.message}`,
    }).catch((error: Error) =>
      deps.logger.warn("could not mark the outbox row FAILED", {
        eventId: candidate.id,
        error: error.message,
      }),
    );
  }
}

async function markPublished(
  published: [Candidate, string][],
  config: PublisherConfig,
  deps: PublisherDeps,
): Promise<void> {
  const publishedAt = deps.now();
  const expiresAt = Math.floor(publishedAt.getTime() / 1000) + config.publishedTtlSeconds;
  await Promise.all(
    published.map(([candidate, eventBridgeId]) =>
      updateRow(candidate.id as string, "PUBLISHED", config, deps, {
        publishedAt: publishedAt.toISOString(),
        eventBridgeId,
        [OUTBOX_EXPIRY_ATTRIBUTE]: expiresAt,
      }).catch((error: Error) => {
        // The event is out; only the bookkeeping is missing. A PENDING row that was in fact
        // published costs at most a duplicate if an operator re-publishes it.
        if (error.name === "ConditionalCheckFailedException") return;
        deps.logger.warn("could not mark the outbox row PUBLISHED", {
          eventId: candidate.id,
          error: error.message,
        });
      }),
    ),
  );
}

function updateRow(
  id: string,
  status: "PUBLISHED" | "FAILED",
  config: PublisherConfig,
  deps: PublisherDeps,
  fields: Record<string, string | number>,
) {
  const names: Record<string, string> = { "#id": OUTBOX_KEY_ATTRIBUTE, "#status": "status" };
  const values: Record<string, string | number> = { ":status": status };
  const sets = ["#status = :status"];
  Object.entries(fields).forEach(([name, value], i) => {
    names[`#f${i}`] = name;
    values[`:f${i}`] = value;
    sets.push(`#f${i} = :f${i}`);
  });
  return deps.dynamo.send(
    new UpdateItemCommand({
      TableName: config.outboxTable,
      Key: marshall({ [OUTBOX_KEY_ATTRIBUTE]: id }),
      UpdateExpression: `SET ${sets.join(", ")}`,
      // Never resurrect a row someone deleted.
      ConditionExpression: "attribute_exists(#id)",
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: marshall(values),
    }),
  );
}
