import { randomUUID } from "node:crypto";
import { DeleteMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type ArchiveSink, archiveRecord, sha256 } from "./archive.js";
import type { Operator, ReplayAudit } from "./audit.js";
import { type DeadLetter, DeadLetterReader, queueCounts } from "./dead-letters.js";
import { SpoolCliError } from "./errors.js";
import { type DeadLetterFilter, describeFilter, matchDeadLetter } from "./filters.js";
import type { Progress } from "./progress.js";
import { previousReplay } from "./replay-send.js";
import type { QueueRef, SourceQueue } from "./stack.js";

/**
 * Archive and discard: the two ways a dead letter nobody will replay leaves its queue on
 * purpose, rather than silently at the queue's retention. Both select with the replay filters,
 * both are dry runs unless confirmed, both are recorded in the audit table like replays.
 */
export type DisposalAction = "archive" | "discard";

export interface DisposalRequest {
  readonly action: DisposalAction;
  readonly queue: SourceQueue & { deadLetterQueue: QueueRef };
  readonly filter: DeadLetterFilter;
  /** Report what would happen; change nothing. True unless the operator passed --yes. */
  readonly dryRun: boolean;
  /** Take at most this many. */
  readonly limit?: number | undefined;
  /** How long a received dead letter stays hidden while this operation decides about it. */
  readonly holdSeconds: number;
}

export interface DisposalDeps {
  readonly sqs: SQSClient;
  /** Required unless it is a dry run. */
  readonly audit: ReplayAudit | undefined;
  /** Required to archive for real: where each dead letter is written before it is deleted. */
  readonly archive: ArchiveSink | undefined;
  readonly operator: Operator;
  readonly stack: string;
  readonly progress?: Progress | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly now?: () => Date;
  readonly newOperationId?: () => string;
}

export interface DisposedMessage {
  readonly id: string;
  readonly originalId: string;
  readonly errorCode: string | undefined;
  readonly reason: string;
  readonly deadLetteredAt: string;
  readonly bodySha256: string;
}

export interface DisposalOutcome {
  readonly operationId: string;
  readonly action: DisposalAction;
  readonly dryRun: boolean;
  readonly queue: string;
  readonly deadLetterQueueUrl: string;
  readonly filter: string;
  /** Archive: the file the dead letters were written to (absent when nothing was written). */
  readonly archiveLocation?: string;
  readonly examined: number;
  readonly matched: number;
  /** Deleted from the dead-letter queue (after being archived, for an archive). */
  readonly removed: number;
  /** Removed (or, in a dry run, would be). */
  readonly messages: readonly DisposedMessage[];
  /** Matches left in the dead-letter queue: not archived, or not deleted. */
  readonly failures: readonly { readonly id: string; readonly error: string }[];
  readonly interrupted: boolean;
  readonly elapsedMs: number;
}

/**
 * Receives each dead letter (hidden, not consumed), decides by the filter and, for a match:
 * archive writes it to the sink and waits until the sink says it is durable, then deletes it;
 * discard deletes it. A dead letter whose archive write failed is never deleted, and the
 * operation stops there (a sink that failed once is not trusted with the next). Whatever is not
 * removed is made visible again, whatever happens.
 */
export async function disposeDeadLetters(
  request: DisposalRequest,
  deps: DisposalDeps,
): Promise<DisposalOutcome> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const operationId = deps.newOperationId?.() ?? randomUUID();
  const { queue, action, dryRun } = request;
  const dlq = queue.deadLetterQueue;
  const audit = dryRun ? undefined : deps.audit;
  const sink = dryRun || action === "discard" ? undefined : deps.archive;
  if (!dryRun && !audit) {
    throw new SpoolCliError(`${action} needs an audit table to record itself in`);
  }
  if (!dryRun && action === "archive" && !sink) {
    throw new SpoolCliError("archive needs somewhere to write the dead letters (--to)");
  }
  const filter = describeFilter(request.filter);

  await audit?.started({
    replayId: operationId,
    action,
    stack: deps.stack,
    queue: queue.name,
    sourceQueueUrl: queue.url,
    deadLetterQueueUrl: dlq.url,
    method: action === "archive" ? "receive-archive-delete" : "receive-delete",
    filter,
    limit: request.limit,
    ratePerSecond: undefined,
    operator: deps.operator,
    startedAt: started.toISOString(),
    ...(sink ? { archiveLocation: sink.location } : {}),
  });

  if (deps.progress) {
    const { visible } = await queueCounts(deps.sqs, dlq.url);
    deps.progress.total = visible;
  }
  const reader = new DeadLetterReader(deps.sqs, queue, request.holdSeconds);
  const messages: DisposedMessage[] = [];
  const failures: { id: string; error: string }[] = [];
  let examined = 0;
  let matched = 0;
  let removed = 0;
  let archived = 0;
  let interrupted = false;
  let fatal: unknown;
  const limitReached = () => request.limit !== undefined && matched >= request.limit;

  try {
    while (!limitReached()) {
      if (deps.signal?.aborted) {
        interrupted = true;
        break;
      }
      const wanted = request.limit !== undefined ? request.limit - matched : 10;
      const batch = await reader.next(Math.min(10, Math.max(1, wanted)));
      if (batch.length === 0) break;
      examined += batch.length;
      deps.progress?.tick(batch.length);
      const chosen: DeadLetter[] = [];
      for (const letter of batch) {
        if (limitReached()) break;
        if (!matchDeadLetter(request.filter, letter, now()).match) continue;
        matched++;
        chosen.push(letter);
      }
      const summaries = chosen.map((letter) => ({
        letter,
        summary: {
          id: letter.id,
          originalId: letter.originalId,
          errorCode: letter.errorCode,
          reason: letter.reason,
          deadLetteredAt: letter.deadLetteredAt.toISOString(),
          bodySha256: sha256(letter.body),
        } satisfies DisposedMessage,
      }));
      if (dryRun) {
        messages.push(...summaries.map((s) => s.summary));
        continue;
      }
      if (sink && chosen.length) {
        const archivedAt = now().toISOString();
        try {
          await sink.write(
            chosen.map((letter) =>
              archiveRecord(letter, {
                operationId,
                archivedAt,
                stack: deps.stack,
                queue: queue.name,
                deadLetterQueueUrl: dlq.url,
              }),
            ),
          );
          archived += chosen.length;
        } catch (error) {
          const message = `not archived, so not deleted: ${(error as Error).message}`;
          for (const letter of chosen) failures.push({ id: letter.id, error: message });
          fatal = error;
          break;
        }
      }
      for (const { letter, summary } of summaries) {
        try {
          await deps.sqs.send(
            new DeleteMessageCommand({ QueueUrl: dlq.url, ReceiptHandle: letter.receiptHandle }),
          );
          reader.forget(letter.id);
        } catch (error) {
          failures.push({ id: letter.id, error: `not deleted: ${(error as Error).message}` });
          continue;
        }
        removed++;
        messages.push(summary);
        await audit?.moved(operationId, {
          action,
          deadLetterId: letter.id,
          originalId: letter.originalId,
          newMessageId: undefined,
          errorCode: letter.errorCode,
          movedAt: now().toISOString(),
          bodySha256: summary.bodySha256,
          ...(sink ? { archivedTo: sink.location } : {}),
          ...previousReplay(letter),
        });
      }
    }
  } catch (error) {
    fatal ??= error;
  } finally {
    deps.progress?.end();
    await reader.release().catch(() => undefined);
    await sink?.close().catch((error: unknown) => {
      fatal ??= error;
    });
  }

  const finishedAt = now();
  await audit
    ?.finished(operationId, {
      status: fatal ? "failed" : interrupted ? "interrupted" : "completed",
      examined,
      matched,
      moved: removed,
      failed: failures.length,
      finishedAt: finishedAt.toISOString(),
      ...(fatal ? { error: (fatal as Error).message } : {}),
    })
    .catch((error: unknown) => {
      fatal ??= error;
    });
  const outcome: DisposalOutcome = {
    operationId,
    action,
    dryRun,
    queue: queue.name,
    deadLetterQueueUrl: dlq.url,
    filter,
    ...(sink && archived > 0 ? { archiveLocation: sink.location } : {}),
    examined,
    matched,
    removed,
    messages,
    failures,
    interrupted,
    elapsedMs: finishedAt.getTime() - started.getTime(),
  };
  // An archive that could not write stops with what it did so far (the audit says "failed").
  if (fatal && failures.length === 0) throw fatal;
  return outcome;
}
