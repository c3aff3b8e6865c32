/**
 * Work longer than one invocation: a job of `total` items, done a chunk per message. The step
 * does items from the message's cursor until its chunk (or the invocation's time) runs out, then
 * sends a continuation message (the same job, the next cursor) to its own queue and returns. Why
 * this and not a Step Functions Map, and the limits: the QueueConsumer README, "Work longer than
 * one invocation".
 *
 * Exactly once per item rests on three things:
 * - each message of the chain has its own idempotency key (`continuationKey(jobKey, cursor)`),
 *   so a duplicate of one continuation is suppressed like any duplicate;
 * - the send is the last thing the step does, and the chunk's end is fixed by the cursor and
 *   `itemsPerChunk`: a retry of a step that failed after its send does the same chunk again and
 *   sends the same next cursor, which the next step turns away by its key. (When the time check
 *   (`itemMillis`) ended the chunk early, a retry may end it at another item and send another
 *   cursor: two continuations then overlap, and the next point keeps each item once);
 * - each item's effect is idempotent on its own (a conditional put per item, effect-once.ts), so
 *   the items a failed chunk redoes find their effect done.
 *
 * The job stays RUNNING between chunks: the step returns a `Continued` result, and job tracking
 * (job-tracking.ts) moves the job to SUCCEEDED only on a result that is not one. Every message of
 * the chain names the same job through the consumer's `jobKey`.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { RecordContext } from "./consumer-types.js";
import { PermanentError } from "./errors.js";
import { spoolMessage } from "./producer.js";

/** The field that marks a step's result as "continued in another message". */
export const CONTINUED_FIELD = "spoolContinued";

/** A chunk's result when a continuation carries the job on. */
export interface Continued {
  readonly spoolContinued: { readonly from: number; readonly next: number };
}

/** Whether a step's result says its job goes on in a continuation (so it is not finished). */
export function isContinued(result: unknown): result is Continued {
  if (result === null || typeof result !== "object") return false;
  const mark = (result as Record<string, unknown>)[CONTINUED_FIELD];
  return mark !== null && typeof mark === "object";
}

/**
 * The idempotency key of the message that does a job's items from `cursor` on: the job's own key
 * for the first message (so a producer re-sending the job is still a duplicate), `<key>#<cursor>`
 * for each continuation.
 */
export function continuationKey(jobKey: string, cursor: number): string {
  return cursor === 0 ? jobKey : `${jobKey}#${cursor}`;
}

/** Where the chunk starting at `cursor` ends: fixed by the message, so a retry ends it there too. */
export function chunkEnd(cursor: number, total: number, itemsPerChunk: number): number {
  return Math.min(total, cursor + itemsPerChunk);
}

export type ChunkOutcome =
  | ({ readonly status: "continued"; readonly from: number; readonly next: number } & Continued)
  | { readonly status: "completed"; readonly from: number; readonly done: number }
  /** Canceled before item `stoppedAt`: nothing from there on was done, nothing sent. */
  | { readonly status: "canceled"; readonly from: number; readonly stoppedAt: number };

export interface ChunkArgs<B> {
  readonly sqs: SQSClient;
  /** The consumer's own queue (`ctx.queueUrl` in a queue consumer). */
  readonly queueUrl: string;
  /** The first item this message does (0 for the job's first message). */
  readonly cursor: number;
  /** How many items the job has. */
  readonly total: number;
  /** Items one message does at most (fixes where a chunk ends, retries included). */
  readonly itemsPerChunk: number;
  /**
   * The longest one item may take. Before each item after the chunk's first, the step stops
   * early (and continues from there) when less than this is left of the record's time
   * (`ctx.remainingMillis`): a safety net for slow items, not the usual way a chunk ends.
   * @default - no time check: only `itemsPerChunk` ends a chunk
   */
  readonly itemMillis?: number;
  /** Delay of each continuation message, 0–900 s (standard queues). @default 0 */
  readonly delaySeconds?: number;
  readonly ctx: Pick<
    RecordContext,
    "cancelled" | "reportProgress" | "correlationId" | "logger" | "remainingMillis" | "tenantId"
  >;
  /** Does item `index`; its effect must be idempotent (a retry may do it again). */
  readonly item: (index: number) => Promise<void>;
  /** The body of the message that goes on from `cursor` (the same job key, that cursor). */
  readonly next: (cursor: number) => B;
}

function checkPlan(cursor: number, total: number, itemsPerChunk: number): void {
  const ok =
    Number.isInteger(total) &&
    total >= 0 &&
    Number.isInteger(cursor) &&
    cursor >= 0 &&
    cursor <= total &&
    Number.isInteger(itemsPerChunk) &&
    itemsPerChunk >= 1;
  if (!ok) {
    // A message (or handler) that cannot be right on any retry: dead-letter it with the values.
    throw new PermanentError("the continuation's cursor does not fit its job", {
      code: "SCHEMA_INVALID",
      details: { cursor, total, itemsPerChunk },
    });
  }
}

/**
 * Does one chunk of a job: items `cursor` up to the chunk's end, a cancel check before each and a
 * progress report (`index + 1` of `total`) after each; then, unless the job is done, sends the
 * continuation and returns `continued`. Return its outcome from the consumer's step.
 */
export async function runChunk<B>(args: ChunkArgs<B>): Promise<ChunkOutcome> {
  const { cursor, total, itemsPerChunk, ctx } = args;
  checkPlan(cursor, total, itemsPerChunk);
  const end = chunkEnd(cursor, total, itemsPerChunk);
  let index = cursor;
  for (; index < end; index++) {
    if (await ctx.cancelled()) return { status: "canceled", from: cursor, stoppedAt: index };
    const left = ctx.remainingMillis?.();
    if (index > cursor && args.itemMillis !== undefined && left !== undefined) {
      if (left < args.itemMillis) {
        ctx.logger.info("chunk ended early: too little time left for another item", {
          cursor: index,
          remainingMillis: left,
        });
        break;
      }
    }
    await args.item(index);
    await ctx.reportProgress(index + 1, total, `item ${index + 1} of ${total}`);
  }
  if (index >= total) return { status: "completed", from: cursor, done: total };
  // The last thing the step does: a failure before it leaves nothing sent; a failure after it
  // (the result not stored) retries this chunk, which sends this same cursor again.
  await args.sqs.send(
    new SendMessageCommand(
      spoolMessage({
        queueUrl: args.queueUrl,
        body: args.next(index),
        correlationId: ctx.correlationId,
        // The continuation is the same tenant's work: its quota and fair-queue share go with it.
        ...(ctx.tenantId !== undefined ? { tenantId: ctx.tenantId } : {}),
        ...(args.delaySeconds ? { delaySeconds: args.delaySeconds } : {}),
      }),
    ),
  );
  ctx.logger.info("job continued in a new message", { from: cursor, next: index, total });
  return {
    status: "continued",
    from: cursor,
    next: index,
    spoolContinued: { from: cursor, next: index },
  };
}
