import { randomUUID } from "node:crypto";
import { type SQSClient, StartMessageMoveTaskCommand } from "@aws-sdk/client-sqs";
import { parseReplayMarker } from "../../../lib/spool/runtime/replay-marker.js";
import type { Operator, ReplayAudit } from "./audit.js";
import { type DeadLetter, DeadLetterReader, queueCounts } from "./dead-letters.js";
import { SpoolCliError } from "./errors.js";
import {
  type DeadLetterFilter,
  describeFilter,
  isEmptyFilter,
  matchDeadLetter,
} from "./filters.js";
import type { Progress } from "./progress.js";
import { TokenBucket } from "./rate-limiter.js";
import { moveBatch } from "./replay-batch.js";
import { followMoveTask } from "./replay-move-task.js";
import type { ReplayTarget } from "./replay-send.js";
import type { QueueRef, SourceQueue } from "./stack.js";

// Still importable from here, where the replay tests and the CLI docs have always found them.
export { REPLAY_ATTRIBUTE } from "../../../lib/spool/runtime/replay-marker.js";
export { type ReplayTarget, replayDeduplicationId } from "./replay-send.js";

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
  /** Where to send them (`--to`); default: back to the queue they came from. */
  readonly target?: ReplayTarget | undefined;
  /**
   * How many receive → send → delete loops run side by side (`--pipelines`).
   * @default 1
   */
  readonly pipelines?: number | undefined;
  /**
   * Dead letters per send and per delete, 1 to 10 (`--batch-size`); under `--rate` always 1.
   * @default 1 (one at a time, as before batches)
   */
  readonly batchSize?: number | undefined;
}

/**
 * How a replay spreads its work: `pipelines` loops, each receiving `perReceive` letters at a
 * time and sending `perSend` at a time.
 *
 * Under `--rate` a token is one message and the bucket holds one, so a send carries one letter
 * (a batch would be a burst); one loop sends about a hundred a second that way, so there is a
 * loop per hundred of the rate. And it never holds more than it can send within half the hold,
 * so nothing in hand becomes visible (and receivable by someone else) before it is dealt with.
 */
export function replayShape(request: ReplayRequest): {
  pipelines: number;
  perReceive: number;
  perSend: number;
} {
  const asked = Math.max(1, request.pipelines ?? 1);
  const rate = request.dryRun ? undefined : request.ratePerSecond;
  if (rate === undefined) {
    return {
      pipelines: asked,
      perReceive: 10,
      perSend: Math.max(1, Math.min(10, request.batchSize ?? 1)),
    };
  }
  const held = Math.max(1, Math.floor((rate * request.holdSeconds) / 2));
  const pipelines = Math.max(1, Math.min(asked, Math.ceil(rate / 100), Math.floor(held / 10)));
  return {
    pipelines,
    perReceive: Math.max(1, Math.min(10, Math.floor(held / pipelines))),
    perSend: 1,
  };
}

function summaryOf(letter: DeadLetter): ReplayedMessage {
  return {
    id: letter.id,
    originalId: letter.originalId,
    errorCode: letter.errorCode,
    reason: letter.reason,
    groupId: letter.groupId,
    deadLetteredAt: letter.deadLetteredAt.toISOString(),
  };
}

/** The queue a replay sends to when it is given none: the one the dead letters came from. */
export function sourceTarget(queue: SourceQueue): ReplayTarget {
  return {
    url: queue.url,
    arn: queue.arn,
    queueName: queue.queueName,
    fifo: queue.fifo,
    name: queue.name,
    deadLetterQueueUrl: queue.deadLetterQueue?.url,
  };
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
  /** Its new id on the target queue (not in a dry run). */
  readonly newMessageId?: string | undefined;
  /** How many replays it has been through, this one included (not in a dry run). */
  readonly replayCount?: number | undefined;
}

export interface ReplayOutcome {
  readonly replayId: string;
  readonly method: "receive-send-delete" | "message-move-task";
  readonly dryRun: boolean;
  readonly queue: string;
  readonly sourceQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Where the dead letters went: the source queue's name, or the `--to` queue's. */
  readonly target: string;
  readonly targetQueueUrl: string;
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
 * Moves dead letters back to their source queue, or to the request's `target` (`--to`).
 *
 * Unfiltered and for real, it asks SQS to do it (StartMessageMoveTask) where the endpoint has
 * that API. Otherwise it receives each dead letter (hidden, not consumed), decides by the filter,
 * sends a match to the target queue (body byte for byte, original attributes without Spool's
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
  const target = request.target ?? sourceTarget(queue);
  const elsewhere = target.url !== queue.url;
  if (!request.dryRun && !deps.audit) {
    throw new SpoolCliError("a replay needs an audit table to record itself in");
  }
  const base = {
    replayId,
    dryRun: request.dryRun,
    queue: queue.name,
    sourceQueueUrl: queue.url,
    deadLetterQueueUrl: dlq.url,
    target: target.name,
    targetQueueUrl: target.url,
    filter: describeFilter(request.filter),
  };
  // Audited with every replay, so `spool dlq history <replay-id>` knows where to look later.
  const targetFields = {
    targetQueue: target.name,
    targetQueueUrl: target.url,
    targetDeadLetterQueueUrl: target.deadLetterQueueUrl,
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
          DestinationArn: target.arn,
          ...(request.ratePerSecond !== undefined
            ? { MaxNumberOfMessagesPerSecond: request.ratePerSecond }
            : {}),
        }),
      );
      return await followMoveTask(
        request,
        deps,
        { ...base, replayId },
        targetFields,
        TaskHandle ?? "",
        started,
      );
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
    ...targetFields,
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
  const { pipelines, perReceive, perSend } = replayShape(request);

  const messages: ReplayedMessage[] = [];
  const failures: { id: string; error: string }[] = [];
  const notDeleted: { id: string; error: string }[] = [];
  let examined = 0;
  let matched = 0;
  let moved = 0;
  let interrupted = false;
  let fatal: unknown;
  const limitReached = () => request.limit !== undefined && matched >= request.limit;
  const stopped = () => {
    if (deps.signal?.aborted) interrupted = true;
    return interrupted || fatal !== undefined || limitReached();
  };
  const batchContext = audit && {
    sqs: deps.sqs,
    dlq,
    target,
    audit,
    replayId,
    replayedBy: deps.operator.principal,
    elsewhere,
    now,
  };

  // FIFO: once SQS refused a letter of a group, this pass sends none of that group after it, so
  // the group's order on the target never skips one. Those held back stay in the DLQ, reported.
  const stuckGroups = new Map<string, string>();
  const groupOf = (letter: DeadLetter) => letter.groupId ?? "spool-replay";

  /** Sends what it was handed (matched, in receive order), after a token each under `--rate`. */
  const move = async (given: DeadLetter[]): Promise<void> => {
    const pending = target.fifo ? given.filter((l) => !stuckGroups.has(groupOf(l))) : given;
    for (const letter of target.fifo ? given : []) {
      const stuck = stuckGroups.get(groupOf(letter));
      if (stuck) {
        failures.push({ id: letter.id, error: `held back behind ${stuck} of its message group` });
      }
    }
    if (!batchContext || pending.length === 0) return;
    try {
      for (const _ of pending) await bucket?.take(deps.signal);
    } catch {
      interrupted = true;
      matched -= pending.length;
      return;
    }
    const outcome = await moveBatch(batchContext, pending);
    failures.push(...outcome.failures);
    for (const failure of target.fifo ? outcome.failures : []) {
      const letter = pending.find((l) => l.id === failure.id);
      if (letter && !stuckGroups.has(groupOf(letter))) stuckGroups.set(groupOf(letter), letter.id);
    }
    notDeleted.push(...outcome.notDeleted);
    const undeleted = new Set(outcome.notDeleted.map((n) => n.id));
    for (const m of outcome.moved) {
      moved++;
      if (!undeleted.has(m.letter.id)) reader.forget(m.letter.id);
      messages.push({
        ...summaryOf(m.letter),
        newMessageId: m.newMessageId,
        replayCount: m.replayCount,
      });
    }
    deps.progress?.tick(outcome.moved.length);
    if (outcome.auditError !== undefined) throw outcome.auditError;
  };

  /** One of several receive → filter → send → delete loops sharing the reader and the bucket. */
  const pipeline = async (): Promise<void> => {
    while (!stopped()) {
      const wanted = request.limit !== undefined ? request.limit - matched : perReceive;
      const batch = await reader.next(Math.min(perReceive, Math.max(1, wanted)));
      // Nothing visible for this one. The others finish what they hold and see for themselves:
      // on a FIFO queue an empty answer may only mean every group is in another's hands.
      if (batch.length === 0) break;
      let pending: DeadLetter[] = [];
      for (const letter of batch) {
        if (deps.signal?.aborted) {
          interrupted = true;
          break;
        }
        examined++;
        if (request.dryRun) deps.progress?.tick(1);
        // Sent by this very replay and already dead-lettered again while it runs (a consumer
        // fails it at once): replaying it again would go round until the operator stops it.
        if (parseReplayMarker(letter.attributes)?.replayId === replayId) continue;
        if (limitReached() || !matchDeadLetter(request.filter, letter, now()).match) continue;
        matched++;
        if (request.dryRun) {
          messages.push(summaryOf(letter));
          continue;
        }
        pending.push(letter);
        if (pending.length >= perSend) {
          await move(pending);
          pending = [];
          if (interrupted || fatal !== undefined) break;
        }
      }
      // Stopping with letters in hand but not sent: they are released with the rest.
      if (interrupted || fatal !== undefined) matched -= pending.length;
      else await move(pending);
    }
  };

  try {
    await Promise.all(
      Array.from({ length: pipelines }, () =>
        pipeline().catch((error: unknown) => {
          // The first failure stops the other pipelines at their next step.
          fatal ??= error;
        }),
      ),
    );
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
