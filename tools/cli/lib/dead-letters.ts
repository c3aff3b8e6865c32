import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import {
  DEAD_LETTER_ATTRIBUTE,
  type DeadLetterMetadata,
  parseDeadLetterMetadata,
} from "../../../lib/spool/runtime/dead-letter.js";
import { mapLimited } from "./map-limited.js";
import type { ListedReason } from "./reasons.js";
import {
  COUNT_ATTRIBUTES,
  countsOf,
  type QueueCounts,
  type QueueRef,
  type SourceQueue,
} from "./stack.js";

// Still importable from here, where the filter tests have always found them.
export { LISTED_REASONS, type ListedReason } from "./reasons.js";

/**
 * A dead letter as an operator sees it: Spool's metadata when a Spool consumer dead-lettered it,
 * or what SQS itself knows when its redrive policy moved it (receive count, source queue).
 */
export interface DeadLetter {
  /** Its id in the dead-letter queue. */
  readonly id: string;
  /** The id it had on the source queue, when known (Spool metadata; SQS keeps ids on redrive). */
  readonly originalId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  /** SQS system attributes (SentTimestamp, ApproximateReceiveCount, MessageGroupId…). */
  readonly system: Record<string, string>;
  readonly metadata: DeadLetterMetadata | undefined;
  /**
   * "spool" when a Spool consumer dead-lettered it with metadata, "redrive" when SQS's redrive
   * policy moved it (it then names its source queue), "unknown" when neither says (sent by hand).
   */
  readonly via: "spool" | "redrive" | "unknown";
  readonly errorClass: string | undefined;
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  readonly reason: ListedReason;
  /** Deliveries before it died: Spool's count, or the source's maxReceiveCount for a redrive. */
  readonly attempts: number | undefined;
  readonly firstFailureAt: Date | undefined;
  /** When it was dead-lettered: Spool's last failure, or (redrive) when SQS last saw it sent. */
  readonly deadLetteredAt: Date;
  readonly sourceArn: string | undefined;
  readonly correlationId: string | undefined;
  readonly groupId: string | undefined;
}

/** How many ChangeMessageVisibilityBatch calls a release keeps in flight. */
const RELEASE_CONCURRENCY = 8;

export function toDeadLetter(message: Message, source: SourceQueue): DeadLetter {
  const system = (message.Attributes ?? {}) as Record<string, string>;
  const attributes = message.MessageAttributes ?? {};
  const metadata = parseDeadLetterMetadata(attributes);
  const sentAt = new Date(Number(system.SentTimestamp ?? Date.now()));
  const correlation = attributes["correlation-id"]?.StringValue;
  if (metadata) {
    return {
      id: message.MessageId ?? "",
      originalId: metadata.messageId,
      receiptHandle: message.ReceiptHandle ?? "",
      body: message.Body ?? "",
      attributes,
      system,
      metadata,
      via: "spool",
      errorClass: metadata.errorClass,
      errorCode: metadata.errorCode,
      errorMessage: metadata.errorMessage,
      reason: metadata.reason,
      attempts: metadata.attempts,
      firstFailureAt: new Date(metadata.firstFailureAt),
      deadLetteredAt: new Date(metadata.lastFailureAt),
      sourceArn: metadata.sourceQueue,
      correlationId: metadata.correlationId ?? correlation,
      groupId: system.MessageGroupId ?? metadata.messageGroupId,
    };
  }
  const redrive = system.DeadLetterQueueSourceArn !== undefined;
  return {
    id: message.MessageId ?? "",
    // SQS keeps a message's id when its redrive policy moves it.
    originalId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes,
    system,
    metadata: undefined,
    via: redrive ? "redrive" : "unknown",
    errorClass: undefined,
    errorCode: undefined,
    errorMessage: undefined,
    reason: redrive ? "redrive" : "unknown",
    attempts: redrive ? source.maxReceiveCount : undefined,
    firstFailureAt: system.ApproximateFirstReceiveTimestamp
      ? new Date(Number(system.ApproximateFirstReceiveTimestamp))
      : undefined,
    deadLetteredAt: sentAt,
    sourceArn: system.DeadLetterQueueSourceArn,
    correlationId: correlation,
    groupId: system.MessageGroupId,
  };
}

/** The message attributes a replayed message carries: the original ones, without Spool's metadata. */
export function replayAttributes(letter: DeadLetter): Record<string, MessageAttributeValue> {
  const carried: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(letter.attributes)) {
    if (name === DEAD_LETTER_ATTRIBUTE) continue;
    carried[name] = {
      DataType: value.DataType,
      ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
    };
  }
  return carried;
}

export async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<QueueCounts> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...COUNT_ATTRIBUTES] }),
  );
  return countsOf(Attributes);
}

/**
 * Reads dead letters without consuming them: each is received with a visibility timeout of
 * `holdSeconds` (so one pass sees each message once, and nothing else takes it meanwhile), and
 * `release` makes it visible again. Nothing here deletes.
 *
 * The pass reads with short polls (they answer at once) and ends when one comes back empty while
 * the queue's count says nothing is visible. A short poll on AWS asks only some SQS servers, so
 * an empty one with a count above zero is checked with a long poll (it asks every server, but
 * waits a whole second when the queue really is empty: the cost every pass paid before). The
 * count is approximate on AWS (it can trail fresh dead letters for up to a minute): such a
 * letter waits for the next pass, it is never lost.
 */
export class DeadLetterReader {
  readonly #sqs: SQSClient;
  readonly #dlq: QueueRef;
  readonly #source: SourceQueue;
  readonly #holdSeconds: number;
  readonly #held = new Map<string, string>();
  readonly #seen = new Set<string>();

  constructor(
    sqs: SQSClient,
    source: SourceQueue & { deadLetterQueue: QueueRef },
    holdSeconds: number,
  ) {
    this.#sqs = sqs;
    this.#dlq = source.deadLetterQueue;
    this.#source = source;
    this.#holdSeconds = holdSeconds;
  }

  /** Messages this reader holds invisible right now. */
  get holding(): number {
    return this.#held.size;
  }

  /**
   * The next batch of dead letters not seen before in this pass (up to `max`); empty when the
   * queue has no more visible messages. A message seen before that comes back (its hold ran out)
   * is held again but not returned twice.
   */
  async next(max = 10, holdSeconds = this.#holdSeconds): Promise<DeadLetter[]> {
    let waitSeconds = 0;
    for (let polls = 0; polls < 10; polls++) {
      const { Messages = [] } = await this.#sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.#dlq.url,
          MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
          VisibilityTimeout: holdSeconds,
          WaitTimeSeconds: waitSeconds,
          MessageAttributeNames: ["All"],
          MessageSystemAttributeNames: ["All"],
        }),
      );
      if (Messages.length === 0) {
        if (waitSeconds > 0) return [];
        if ((await queueCounts(this.#sqs, this.#dlq.url)).visible === 0) return [];
        waitSeconds = 1;
        continue;
      }
      waitSeconds = 0;
      const fresh: DeadLetter[] = [];
      const again: { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[] = [];
      for (const message of Messages) {
        const id = message.MessageId ?? "";
        this.#held.set(id, message.ReceiptHandle ?? "");
        if (this.#seen.has(id)) {
          // Its hold ran out during a long pass: hold it longer this time, so the pass is not
          // spent re-reading what it has seen and can reach the rest.
          again.push({
            Id: `a${again.length}`,
            ReceiptHandle: message.ReceiptHandle ?? "",
            VisibilityTimeout: Math.min(43_200, Math.max(900, holdSeconds * 4)),
          });
          continue;
        }
        this.#seen.add(id);
        fresh.push(toDeadLetter(message, this.#source));
      }
      if (again.length) {
        await this.#sqs.send(
          new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.#dlq.url, Entries: again }),
        );
      }
      if (fresh.length) return fresh;
    }
    return [];
  }

  /** Forgets a message this reader no longer holds (it was deleted after a replay). */
  forget(id: string): void {
    this.#held.delete(id);
  }

  /** Makes the given held messages (default: all) visible again at once. */
  async release(ids: readonly string[] = [...this.#held.keys()]): Promise<number> {
    const entries = ids
      .filter((id) => this.#held.has(id))
      .map((id, i) => ({
        Id: `m${i}`,
        ReceiptHandle: this.#held.get(id) as string,
        VisibilityTimeout: 0,
      }));
    const chunks: (typeof entries)[] = [];
    for (let i = 0; i < entries.length; i += 10) chunks.push(entries.slice(i, i + 10));
    // Several at a time: a filtered pass over thousands of letters releases hundreds of batches.
    const results = await mapLimited(chunks, RELEASE_CONCURRENCY, (chunk) =>
      this.#sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.#dlq.url, Entries: chunk }),
      ),
    );
    for (const id of ids) this.#held.delete(id);
    return results.reduce((sum, r) => sum + (r.Successful?.length ?? 0), 0);
  }
}

/** Reads up to `limit` dead letters and releases them all before returning. */
export async function peekDeadLetters(
  sqs: SQSClient,
  source: SourceQueue & { deadLetterQueue: QueueRef },
  options: { limit: number; holdSeconds?: number; signal?: AbortSignal },
): Promise<DeadLetter[]> {
  const reader = new DeadLetterReader(sqs, source, options.holdSeconds ?? 30);
  const letters: DeadLetter[] = [];
  try {
    while (letters.length < options.limit && !options.signal?.aborted) {
      const batch = await reader.next(options.limit - letters.length);
      if (batch.length === 0) break;
      letters.push(...batch);
    }
  } finally {
    await reader.release();
  }
  return letters
    .slice(0, options.limit)
    .sort((a, b) => a.deadLetteredAt.getTime() - b.deadLetteredAt.getTime());
}
