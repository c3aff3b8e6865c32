import {
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { ReplayAudit, ReplayMoved } from "./audit.js";
import type { DeadLetter } from "./dead-letters.js";
import {
  previousReplay,
  type ReplayTarget,
  replayMarkerFor,
  replayMessageAttributes,
  sendBackAll,
} from "./replay-send.js";
import type { QueueRef } from "./stack.js";

/** What one batch of a replay did, letter by letter. */
export interface BatchOutcome {
  /** On the target now: its new id, and how many replays it has been through. */
  readonly moved: { letter: DeadLetter; newMessageId: string; replayCount: number | undefined }[];
  /** Not sent: they stay in the DLQ (released at the end of the pass). */
  readonly failures: { id: string; error: string }[];
  /** Sent but not deleted from the DLQ: a duplicate, never a loss. */
  readonly notDeleted: { id: string; error: string }[];
  /** Why the audit records of the moved ones could not be written (the replay stops on it). */
  auditError?: unknown;
}

export interface BatchContext {
  readonly sqs: SQSClient;
  readonly dlq: QueueRef;
  readonly target: ReplayTarget;
  readonly audit: ReplayAudit;
  readonly replayId: string;
  readonly replayedBy: string;
  /** Set when the target is not the queue the letters came from (`--to`). */
  readonly elsewhere: boolean;
  readonly now: () => Date;
}

/**
 * Moves up to 10 dead letters: one send for all of them (SendMessageBatch, or SendMessage for a
 * single one), then, only for the entries SQS took, one delete from the DLQ and their audit
 * records, side by side. An entry SQS refused is neither deleted nor audited: it stays in the
 * DLQ and is reported. A kill between the send and the delete leaves duplicates, never a loss.
 */
export async function moveBatch(
  context: BatchContext,
  letters: readonly DeadLetter[],
): Promise<BatchOutcome> {
  const { sqs, dlq, target, replayId } = context;
  const marked = letters.map((letter) => ({
    letter,
    marker: replayMarkerFor(letter, {
      replayId,
      replayedAt: context.now().toISOString(),
      replayedBy: context.replayedBy,
      ...(context.elsewhere ? { target: target.name } : {}),
    }),
  }));
  const results = await sendBackAll(sqs, target, marked);
  const outcome: BatchOutcome = { moved: [], failures: [], notDeleted: [] };
  const records: ReplayMoved[] = [];
  marked.forEach(({ letter, marker }, i) => {
    const result = results[i];
    if (!result || "error" in result) {
      outcome.failures.push({ id: letter.id, error: result?.error ?? "not sent" });
      return;
    }
    outcome.moved.push({ letter, newMessageId: result.sent, replayCount: marker.count });
    records.push({
      deadLetterId: letter.id,
      originalId: letter.originalId,
      newMessageId: result.sent,
      errorCode: letter.errorCode,
      movedAt: context.now().toISOString(),
      replayCount: marker.count,
      // No slot left for the mark: history cannot find it in a DLQ (see replay-outcome.ts).
      ...(replayMessageAttributes(letter, marker).marked ? {} : { unmarked: true }),
      ...previousReplay(letter),
    });
  });
  const sent = outcome.moved.map((m) => m.letter);
  // Side by side, and both awaited to the end: a failed audit write does not leave a delete
  // running behind the replay's back.
  const [notDeleted, audited] = await Promise.all([
    deleteAll(sqs, dlq.url, sent),
    (records.length === 0
      ? Promise.resolve()
      : context.audit.movedAll
        ? context.audit.movedAll(replayId, records)
        : (async () => {
            for (const record of records) await context.audit.moved(replayId, record);
          })()
    ).then(
      () => undefined,
      (error: unknown) => ({ error }),
    ),
  ]);
  outcome.notDeleted.push(...notDeleted);
  if (audited) outcome.auditError = audited.error;
  return outcome;
}

/** Deletes the letters from the DLQ; resolves to the ones that could not be. */
async function deleteAll(
  sqs: SQSClient,
  queueUrl: string,
  letters: readonly DeadLetter[],
): Promise<{ id: string; error: string }[]> {
  if (letters.length === 0) return [];
  try {
    if (letters.length === 1) {
      const [letter] = letters as [DeadLetter];
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: letter.receiptHandle }),
      );
      return [];
    }
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: letters.map((l, i) => ({ Id: `d${i}`, ReceiptHandle: l.receiptHandle })),
      }),
    );
    return Failed.map((f) => ({
      id: letters[Number(f.Id?.slice(1))]?.id ?? f.Id ?? "?",
      error: `${f.Code ?? "error"}: ${f.Message ?? ""}`,
    }));
  } catch (error) {
    return letters.map((l) => ({ id: l.id, error: (error as Error).message }));
  }
}
