import { createHash, randomUUID } from "node:crypto";
import {
  CancelMessageMoveTaskCommand,
  DeleteMessageCommand,
  ListMessageMoveTasksCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import type { Operator, ReplayAudit } from "./audit.js";
import {
  type DeadLetter,
  DeadLetterReader,
  queueCounts,
  replayAttributes,
} from "./dead-letters.js";
import { SpoolCliError } from "./errors.js";
import {
  type DeadLetterFilter,
  describeFilter,
  isEmptyFilter,
  matchDeadLetter,
} from "./filters.js";
import type { Progress } from "./progress.js";
import { TokenBucket } from "./rate-limiter.js";
import type { QueueRef, SourceQueue } from "./stack.js";

/** The attribute a replayed message carries: which replay sent it back, and from which dead letter. */
export const REPLAY_ATTRIBUTE = "spool-replay";

/** SQS refuses more than 10 message attributes on one message. */
const MAX_MESSAGE_ATTRIBUTES = 10;

export interface ReplayRequest {
  readonly queue: SourceQueue & { deadLetterQueue: QueueRef };
  readonly filter: DeadLetterFilter;
  /** Show what would move; move nothing. */
  readonly dryRun: boolean;
  /** Move at most this many. */
  readonly limit?: number | undefined;
  /** Send at most this many messages per second (token bucket, no burst). */
  readonly ratePerSecond?: number | undefined;
  /** How long a received dead letter stays hidden while this replay decides about it. */
  readonly holdSeconds: number;
  /** Use SQS's own redrive (StartMessageMoveTask) when the replay is unfiltered. */
  readonly allowNative: boolean;
}

export interface ReplayDeps {
  readonly sqs: SQSClient;
  /** Required unless it is a dry run. */
  readonly audit: ReplayAudit | undefined;
  readonly operator: Operator;
  readonly stack: string;
  readonly progress?: Progress | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly newReplayId?: () => string;
}

export interface ReplayedMessage {
  /** Its id in the dead-letter queue. */
  readonly id: string;
  readonly originalId: string;
  readonly errorCode: string | undefined;
  /** permanent-failure, retries-exhausted, redrive or unknown. */
  readonly reason: string;
  readonly groupId: string | undefined;
  readonly deadLetteredAt: string;
  /** Its new id on the source queue (not in a dry run). */
  readonly newMessageId?: string | undefined;
}

export interface ReplayOutcome {
  readonly replayId: string;
  readonly method: "receive-send-delete" | "message-move-task";
  readonly dryRun: boolean;
  readonly queue: string;
  readonly sourceQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly filter: string;
  /** Dead letters looked at. */
  readonly examined: number;
  /** Of those, how many passed the filter (and the limit). */
  readonly matched: number;
  readonly moved: number;
  /** Moved (or, in a dry run, would move). */
  readonly messages: readonly ReplayedMessage[];
  /** Messages that could not be sent back: they stay in the dead-letter queue. */
  readonly failures: readonly { readonly id: string; readonly error: string }[];
  /** Sent back but not deleted from the DLQ (a duplicate, never a loss). */
  readonly notDeleted: readonly { readonly id: string; readonly error: string }[];
  readonly interrupted: boolean;
  /** Why SQS's own redrive was not used, when it was asked for. */
  readonly nativeUnavailable?: string;
  readonly moveTaskHandle?: string;
  readonly elapsedMs: number;
}

/** Error names with which an endpoint says it does not implement an action. */
const UNSUPPORTED = new Set([
  "InvalidAction",
  "InvalidActionException",
  "UnsupportedOperation",
  "UnsupportedOperationException",
  "UnknownOperationException",
  "NotImplemented",
  "AWS.SimpleQueueService.UnsupportedOperation",
]);

export function isUnsupportedAction(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; message?: string };
  return (
    UNSUPPORTED.has(e?.name ?? "") ||
    UNSUPPORTED.has(e?.Code ?? "") ||
    /not (?:yet )?(?:supported|implemented)|unknown operation|InvalidAction/i.test(e?.message ?? "")
  );
}

/**
 * A FIFO replay needs a deduplication id that differs from the original's (SQS would drop the
 * replay as a duplicate within five minutes of the original) yet stays the same if this very
 * dead letter is sent twice (a replay killed between send and delete, then run again).
 */
export function replayDeduplicationId(deadLetterId: string): string {
  return createHash("sha256").update(`spool-replay:${deadLetterId}`).digest("hex");
}

function replayMessageAttributes(
  letter: DeadLetter,
  marker: Record<string, unknown>,
): { attributes: Record<string, MessageAttributeValue>; marked: boolean } {
  const attributes = replayAttributes(letter);
  if (Object.keys(attributes).length >= MAX_MESSAGE_ATTRIBUTES) {
    // The original already uses every attribute slot SQS allows: send it as it was; the audit
    // record still names it.
    return { attributes, marked: false };
  }
  attributes[REPLAY_ATTRIBUTE] = { DataType: "String", StringValue: JSON.stringify(marker) };
  return { attributes, marked: true };
}

/**
 * Moves dead letters back to their source queue.
 *
 * Unfiltered and for real, it asks SQS to do it (StartMessageMoveTask) where the endpoint has
 * that API. Otherwise it receives each dead letter (hidden, not consumed), decides by the filter,
 * sends a match to the source queue (body byte for byte, original attributes without Spool's
 * dead-letter metadata, plus a replay marker; FIFO: same message group, new deduplication id),
 * and deletes it from the DLQ only after the send succeeded. Whatever happens (filtered out,
 * a failed send, an interruption) everything it does not move is made visible again. A kill
 * between send and delete leaves a duplicate, never a loss; consumers are idempotent.
 */
export async function replayDeadLetters(
  request: ReplayRequest,
  deps: ReplayDeps,
): Promise<ReplayOutcome> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const replayId = deps.newReplayId?.() ?? randomUUID();
  const { queue } = request;
  const dlq = queue.deadLetterQueue;
  if (!request.dryRun && !deps.audit) {
    throw new SpoolCliError("a replay needs an audit table to record itself in");
  }
  const base = {
    replayId,
    dryRun: request.dryRun,
    queue: queue.name,
    sourceQueueUrl: queue.url,
    deadLetterQueueUrl: dlq.url,
    filter: describeFilter(request.filter),
  };

  let nativeUnavailable: string | undefined;
  const unfiltered = isEmptyFilter(request.filter) && request.limit === undefined;
  const nativeRate =
    request.ratePerSecond === undefined ||
    (Number.isInteger(request.ratePerSecond) && request.ratePerSecond <= 500);
  if (request.allowNative && unfiltered && !request.dryRun && nativeRate) {
    try {
      const { TaskHandle } = await deps.sqs.send(
        new StartMessageMoveTaskCommand({
          SourceArn: dlq.arn,
          DestinationArn: queue.arn,
          ...(request.ratePerSecond !== undefined
            ? { MaxNumberOfMessagesPerSecond: request.ratePerSecond }
            : {}),
        }),
      );
      return await followMoveTask(request, deps, { ...base, replayId }, TaskHandle ?? "", started);
    } catch (error) {
      if (!isUnsupportedAction(error)) throw error;
      const e = error as { name?: string; message?: string };
      nativeUnavailable = `${e.name ?? "error"}: ${e.message ?? ""}`.trim();
    }
  }

  const audit = request.dryRun ? undefined : deps.audit;
  await audit?.started({
    replayId,
    stack: deps.stack,
    queue: queue.name,
    sourceQueueUrl: queue.url,
    deadLetterQueueUrl: dlq.url,
    method: "receive-send-delete",
    filter: base.filter,
    limit: request.limit,
    ratePerSecond: request.ratePerSecond,
    operator: deps.operator,
    startedAt: started.toISOString(),
  });

  if (deps.progress) {
    // A dry run counts what it examines (all of them); a replay counts what it moves, which is
    // known in advance only when nothing is filtered out.
    const { visible } = await queueCounts(deps.sqs, dlq.url);
    deps.progress.total = request.dryRun
      ? visible
      : isEmptyFilter(request.filter)
        ? Math.min(request.limit ?? visible, visible)
        : undefined;
  }
  const reader = new DeadLetterReader(deps.sqs, queue, request.holdSeconds);
  const bucket =
    request.ratePerSecond !== undefined && !request.dryRun
      ? new TokenBucket({
          ratePerSecond: request.ratePerSecond,
          ...(deps.sleep ? { sleep: deps.sleep } : {}),
        })
      : undefined;
  // Receive no more than can be sent within half the hold, so nothing in hand becomes visible
  // (and receivable by someone else) before this replay has dealt with it.
  const perBatch = bucket
    ? Math.max(1, Math.min(10, Math.floor((bucket.ratePerSecond * request.holdSeconds) / 2)))
    : 10;

  const messages: ReplayedMessage[] = [];
  const failures: { id: string; error: string }[] = [];
  const notDeleted: { id: string; error: string }[] = [];
  let examined = 0;
  let matched = 0;
  let moved = 0;
  let interrupted = false;
  let fatal: unknown;
  const limitReached = () => request.limit !== undefined && matched >= request.limit;

  try {
    scan: while (!limitReached()) {
      if (deps.signal?.aborted) {
        interrupted = true;
        break;
      }
      const wanted = request.limit !== undefined ? request.limit - matched : 10;
      const batch = await reader.next(Math.min(perBatch, Math.max(1, wanted)));
      if (batch.length === 0) break;
      for (const letter of batch) {
        if (deps.signal?.aborted) {
          interrupted = true;
          break scan;
        }
        examined++;
        if (request.dryRun) deps.progress?.tick(1);
        if (limitReached() || !matchDeadLetter(request.filter, letter, now()).match) continue;
        matched++;
        const summary: ReplayedMessage = {
          id: letter.id,
          originalId: letter.originalId,
          errorCode: letter.errorCode,
          reason: letter.reason,
          groupId: letter.groupId,
          deadLetteredAt: letter.deadLetteredAt.toISOString(),
        };
        if (request.dryRun) {
          messages.push(summary);
          continue;
        }
        try {
          await bucket?.take(deps.signal);
        } catch {
          interrupted = true;
          matched--;
          break scan;
        }
        const sent = await sendBack(deps.sqs, queue, letter, {
          replayId,
          replayedAt: now().toISOString(),
          replayedBy: deps.operator.principal,
          deadLetterId: letter.id,
          originalId: letter.originalId,
        }).catch((error: unknown) => {
          failures.push({ id: letter.id, error: (error as Error).message });
          return undefined;
        });
        if (!sent) continue;
        moved++;
        try {
          await deps.sqs.send(
            new DeleteMessageCommand({ QueueUrl: dlq.url, ReceiptHandle: letter.receiptHandle }),
          );
          reader.forget(letter.id);
        } catch (error) {
          notDeleted.push({ id: letter.id, error: (error as Error).message });
        }
        messages.push({ ...summary, newMessageId: sent });
        deps.progress?.tick(1);
        await audit?.moved(replayId, {
          deadLetterId: letter.id,
          originalId: letter.originalId,
          newMessageId: sent,
          errorCode: letter.errorCode,
          movedAt: now().toISOString(),
        });
      }
    }
  } catch (error) {
    fatal = error;
  } finally {
    deps.progress?.end();
    // Everything held that was not moved goes back, whatever happened above.
    await reader.release().catch(() => undefined);
  }

  const finishedAt = now();
  await audit
    ?.finished(replayId, {
      status: fatal ? "failed" : interrupted ? "interrupted" : "completed",
      examined,
      matched,
      moved,
      failed: failures.length,
      finishedAt: finishedAt.toISOString(),
      ...(fatal ? { error: (fatal as Error).message } : {}),
    })
    .catch((error: unknown) => {
      fatal ??= error;
    });
  if (fatal) throw fatal;

  return {
    ...base,
    method: "receive-send-delete",
    examined,
    matched,
    moved,
    messages,
    failures,
    notDeleted,
    interrupted,
    ...(nativeUnavailable ? { nativeUnavailable } : {}),
    elapsedMs: finishedAt.getTime() - started.getTime(),
  };
}

/** Sends one dead letter back to its source queue; resolves to its new message id. */
async function sendBack(
  sqs: SQSClient,
  queue: SourceQueue,
  letter: DeadLetter,
  marker: Record<string, unknown>,
): Promise<string> {
  const { attributes } = replayMessageAttributes(letter, marker);
  const result = await sqs.send(
    new SendMessageCommand({
      QueueUrl: queue.url,
      MessageBody: letter.body,
      ...(Object.keys(attributes).length ? { MessageAttributes: attributes } : {}),
      ...(queue.fifo
        ? {
            MessageGroupId: letter.groupId ?? "spool-replay",
            MessageDeduplicationId: replayDeduplicationId(letter.id),
          }
        : {}),
    }),
  );
  if (!result.MessageId) throw new Error("SendMessage returned no message id");
  return result.MessageId;
}

/** Waits for SQS's own move task, showing its progress; cancels it when interrupted. */
async function followMoveTask(
  request: ReplayRequest,
  deps: ReplayDeps,
  base: Omit<
    ReplayOutcome,
    | "method"
    | "examined"
    | "matched"
    | "moved"
    | "messages"
    | "failures"
    | "notDeleted"
    | "interrupted"
    | "elapsedMs"
  >,
  taskHandle: string,
  started: Date,
): Promise<ReplayOutcome> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  await deps.audit?.started({
    replayId: base.replayId,
    stack: deps.stack,
    queue: request.queue.name,
    sourceQueueUrl: request.queue.url,
    deadLetterQueueUrl: request.queue.deadLetterQueue.url,
    method: "message-move-task",
    filter: base.filter,
    limit: undefined,
    ratePerSecond: request.ratePerSecond,
    operator: deps.operator,
    startedAt: started.toISOString(),
    moveTaskHandle: taskHandle,
  });
  let status = "RUNNING";
  let moved = 0;
  let toMove: number | undefined;
  let failure: string | undefined;
  let interrupted = false;
  while (status === "RUNNING" || status === "CANCELLING") {
    if (deps.signal?.aborted && !interrupted) {
      interrupted = true;
      await deps.sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: taskHandle }));
    }
    await sleep(1_000);
    const { Results = [] } = await deps.sqs.send(
      new ListMessageMoveTasksCommand({
        SourceArn: request.queue.deadLetterQueue.arn,
        MaxResults: 1,
      }),
    );
    const task = Results.find((r) => r.TaskHandle === taskHandle) ?? Results[0];
    if (!task) break;
    status = task.Status ?? "COMPLETED";
    const before = moved;
    moved = task.ApproximateNumberOfMessagesMoved ?? moved;
    toMove = task.ApproximateNumberOfMessagesToMove ?? toMove;
    failure = task.FailureReason ?? failure;
    if (deps.progress) {
      deps.progress.total = toMove;
      deps.progress.tick(moved - before);
    }
  }
  deps.progress?.end();
  const finishedAt = now();
  await deps.audit?.finished(base.replayId, {
    status: status === "FAILED" ? "failed" : interrupted ? "interrupted" : "completed",
    examined: toMove ?? moved,
    matched: toMove ?? moved,
    moved,
    failed: status === "FAILED" ? 1 : 0,
    finishedAt: finishedAt.toISOString(),
    ...(failure ? { error: failure } : {}),
  });
  if (status === "FAILED") {
    throw new SpoolCliError(
      `SQS move task ${taskHandle} failed after ${moved} messages: ${failure}`,
    );
  }
  return {
    ...base,
    method: "message-move-task",
    examined: toMove ?? moved,
    matched: toMove ?? moved,
    moved,
    messages: [],
    failures: [],
    notDeleted: [],
    interrupted,
    moveTaskHandle: taskHandle,
    elapsedMs: finishedAt.getTime() - started.getTime(),
  };
}
