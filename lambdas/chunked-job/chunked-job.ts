import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import type { RecordContext } from "../../lib/spool/runtime/consumer-types.js";

/** A test deployment's chunked job: `chunks` units of work, each taking `chunkMillis`. */
export const ChunkedJobMessage = z.object({
  schemaVersion: z.literal(1),
  /** The job's business key: its job id is `chunked-job:<jobKey>`. */
  jobKey: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  chunks: z.number().int().min(1).max(50),
  chunkMillis: z.number().int().min(0).max(5_000).default(1_000),
  correlationId: z.string().optional(),
});
export type ChunkedJobMessage = z.infer<typeof ChunkedJobMessage>;

/** The job kind the stack gives this consumer's jobs (QueueConsumer `jobs.kind`). */
export const CHUNKED_JOB_KIND = "chunked-job";

export interface ChunkedJobDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

/** One item per chunk done (`chunk#<n>`) and one when the step stopped on a cancel (`stopped`). */
export function chunkedJobKey(jobKey: string, sk: string) {
  return { pk: `chunked-job#${jobKey}`, sk };
}

export interface ChunkedJobResult {
  readonly chunksDone: number;
  readonly stoppedByCancel: boolean;
}

/**
 * The step: chunk after chunk, each a stand-in for real work (a wait) that leaves one effect
 * item, then a progress report; a cancel is checked before each chunk, so a canceled job does
 * at most the chunk it was in. Redelivered after a crash, it redoes the chunks (each effect is a
 * plain Put, the same item again).
 */
export async function runChunkedJob(
  message: ChunkedJobMessage,
  ctx: Pick<RecordContext, "reportProgress" | "cancelled" | "attempt">,
  deps: ChunkedJobDeps,
): Promise<ChunkedJobResult> {
  for (let chunk = 0; chunk < message.chunks; chunk++) {
    if (await ctx.cancelled()) {
      await deps.db.send(
        new PutCommand({
          TableName: deps.table,
          Item: {
            ...chunkedJobKey(message.jobKey, "stopped"),
            beforeChunk: chunk,
            at: deps.now().toISOString(),
          },
        }),
      );
      return { chunksDone: chunk, stoppedByCancel: true };
    }
    await deps.sleep(message.chunkMillis);
    await deps.db.send(
      new PutCommand({
        TableName: deps.table,
        Item: {
          ...chunkedJobKey(message.jobKey, `chunk#${String(chunk).padStart(2, "0")}`),
          chunk,
          attempt: ctx.attempt,
          at: deps.now().toISOString(),
        },
      }),
    );
    await ctx.reportProgress(chunk + 1, message.chunks, `chunk ${chunk + 1} of ${message.chunks}`);
  }
  return { chunksDone: message.chunks, stoppedByCancel: false };
}
