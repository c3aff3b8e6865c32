import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import type { RecordContext } from "../../lib/spool/runtime/consumer-types.js";
import { type ChunkOutcome, runChunk } from "../../lib/spool/runtime/continuation.js";
import { putOnce } from "../../lib/spool/runtime/effect-once.js";

/**
 * A test deployment's job longer than one invocation: `items` items of `itemMillis` each, done
 * ITEMS_PER_CHUNK per message, each message after the first a continuation from `cursor`.
 */
export const ContinuedJobMessage = z.object({
  schemaVersion: z.literal(1),
  /** The job's business key: its job id is `continued-job:<jobKey>` for every message. */
  jobKey: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  items: z.number().int().min(1).max(50),
  itemMillis: z.number().int().min(0).max(3_000).default(1_500),
  /** The first item this message does: 0 from the producer, later from a continuation. */
  cursor: z.number().int().min(0).default(0),
  correlationId: z.string().optional(),
});
export type ContinuedJobMessage = z.infer<typeof ContinuedJobMessage>;

/** The job kind the stack gives this consumer's jobs (QueueConsumer `jobs.kind`). */
export const CONTINUED_JOB_KIND = "continued-job";

/**
 * Items per message: 4 × 1.5 s leaves room in the consumer's 10 s timeout, so a 12-item job
 * (18 s) needs three messages.
 */
export const ITEMS_PER_CHUNK = 4;

/** One effect item per job item (`item#<nn>`), written once whatever redoes the item. */
export function continuedJobKey(jobKey: string, index: number) {
  return { pk: `continued-job#${jobKey}`, sk: `item#${String(index).padStart(2, "0")}` };
}

export interface ContinuedJobDeps {
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly table: string;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * The step: one chunk of the job. Each item is a wait (the stand-in for real work) and a put
 * conditional on its absence that records which message (cursor) did it: a retried chunk finds
 * the items it already did and only counts the duplicate.
 */
export async function runContinuedJobChunk(
  message: ContinuedJobMessage,
  ctx: RecordContext,
  deps: ContinuedJobDeps,
): Promise<ChunkOutcome> {
  // Set by the queue consumer from the record's source: the continuation goes back there.
  if (!ctx.queueUrl) throw new Error("the step has no source queue to continue on");
  return runChunk({
    sqs: deps.sqs,
    queueUrl: ctx.queueUrl,
    cursor: message.cursor,
    total: message.items,
    itemsPerChunk: ITEMS_PER_CHUNK,
    // An item is at most 3 s (the schema): stop early rather than start one that cannot finish.
    itemMillis: 3_000,
    ctx,
    item: async (index) => {
      await deps.sleep(message.itemMillis);
      await putOnce(deps.db, {
        table: deps.table,
        key: continuedJobKey(message.jobKey, index),
        item: {
          index,
          cursor: message.cursor,
          messageId: ctx.messageId,
          at: deps.now().toISOString(),
        },
        duplicateCounter: "duplicates",
      });
    },
    next: (cursor) => ({ ...message, cursor }),
  });
}
