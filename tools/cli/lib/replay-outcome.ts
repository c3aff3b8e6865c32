import type { SQSClient } from "@aws-sdk/client-sqs";
import { parseReplayMarker, replayCountOf } from "../../../lib/spool/runtime/replay-marker.js";
import type { ReplayedAgain, ReplayHistoryEntry, ReplayMoved } from "./audit.js";
import { type DeadLetter, peekDeadLetters, queueCounts } from "./dead-letters.js";
import { queueNameOfUrl } from "./stack.js";

/**
 * What became of one replay's messages (`spool dlq history <replay-id>`).
 *
 * - dead-lettered again: a letter carrying this replay's mark is in the target's dead-letter
 *   queue (the consumer keeps the mark when it dead-letters a replayed message), or a later
 *   replay, archive or discard moved such a letter on and recorded it under this replay. Exact.
 * - still in flight: not dead-lettered again, while the target queue still holds messages
 *   (visible, in flight or delayed) or someone else holds letters of the DLQ hidden. SQS cannot
 *   be looked into without receiving (which would hide what it reads from the consumer), so
 *   these are counted, not identified: up to that many of the replayed messages, an upper bound
 *   when the queue also carries other traffic.
 * - delivered: the rest. Off the target queue and not in the DLQ means the consumer acknowledged
 *   it (processed, or a duplicate of work already done). Known by elimination, settled once the
 *   target queue is empty; the consumer's log lines name the replay for a positive check.
 * - untracked: sent without the mark (the original used all 10 attribute slots).
 */
export type MessageOutcome = "delivered" | "dead-lettered-again" | "unsettled" | "untracked";

export interface ReplayedMessageOutcome {
  readonly deadLetterId: string;
  readonly originalId: string;
  readonly newMessageId: string | null;
  readonly replayCount: number;
  readonly outcome: MessageOutcome;
  /** Dead-lettered again: its id in the DLQ now (null when a later operation moved it on). */
  readonly againId?: string | null;
  readonly againErrorCode?: string | null;
  /** A later replay, archive or discard took it out of the DLQ. */
  readonly movedOnBy?: string;
}

export interface ReplayOutcomeCounts {
  readonly delivered: number;
  readonly deadLetteredAgain: number;
  readonly inFlight: number;
  readonly untracked: number;
  /** Nothing can still change: no replayed message may be in flight. */
  readonly settled: boolean;
  readonly messages: readonly ReplayedMessageOutcome[];
}

export interface ClassifyInput {
  readonly replayId: string;
  readonly moved: readonly ReplayMoved[];
  /** The letters of the target's DLQ (all of them: the ones not of this replay are ignored). */
  readonly deadLetters: readonly DeadLetter[];
  readonly movedOn: readonly ReplayedAgain[];
  /** Messages the target queue holds: visible + in flight + delayed, read before the DLQ. */
  readonly targetDepth: number;
  /** DLQ letters someone else held hidden while history read it. */
  readonly hiddenInDeadLetterQueue: number;
}

export function classifyReplay(input: ClassifyInput): ReplayOutcomeCounts {
  const again = new Map<string, DeadLetter>();
  for (const letter of input.deadLetters) {
    const marker = parseReplayMarker(letter.attributes);
    // A dead letter sent twice (a crash between send and delete) is one message, counted once.
    if (marker?.replayId === input.replayId && !again.has(marker.deadLetterId)) {
      again.set(marker.deadLetterId, letter);
    }
  }
  const movedOn = new Map(input.movedOn.map((r) => [r.deadLetterId, r]));
  const unsettled: ReplayMoved[] = [];
  const messages: ReplayedMessageOutcome[] = [];
  const base = (m: ReplayMoved) => ({
    deadLetterId: m.deadLetterId,
    originalId: m.originalId,
    newMessageId: m.newMessageId ?? null,
    replayCount: m.replayCount ?? 1,
  });
  for (const m of input.moved) {
    const letter = again.get(m.deadLetterId);
    const later = movedOn.get(m.deadLetterId);
    if (letter || later) {
      messages.push({
        ...base(m),
        ...(letter ? { replayCount: replayCountOf(parseReplayMarker(letter.attributes)) } : {}),
        outcome: "dead-lettered-again",
        againId: letter?.id ?? null,
        againErrorCode: letter?.errorCode ?? null,
        ...(later ? { movedOnBy: `${later.action} ${later.byReplayId}` } : {}),
      });
    } else if (m.unmarked) {
      messages.push({ ...base(m), outcome: "untracked" });
    } else {
      unsettled.push(m);
    }
  }
  const inFlight = Math.min(unsettled.length, input.targetDepth + input.hiddenInDeadLetterQueue);
  for (const m of unsettled) {
    messages.push({ ...base(m), outcome: inFlight === 0 ? "delivered" : "unsettled" });
  }
  const count = (o: MessageOutcome) => messages.filter((m) => m.outcome === o).length;
  return {
    delivered: unsettled.length - inFlight,
    deadLetteredAgain: count("dead-lettered-again"),
    inFlight,
    untracked: count("untracked"),
    settled: inFlight === 0,
    messages,
  };
}

export interface ReplayOutcomeReport extends ReplayOutcomeCounts {
  readonly replayId: string;
  readonly queue: string;
  readonly target: string;
  readonly targetQueueUrl: string;
  /** Where dead-lettered-again letters were looked for (null: the target has no DLQ). */
  readonly deadLetterQueueUrl: string | null;
  readonly status: string;
  readonly startedAt: string;
  readonly moved: number;
  /** False for a replay SQS's move task did: its messages carry no mark, the audit names none. */
  readonly tracked: boolean;
  readonly targetQueue: { visible: number; inFlight: number; delayed: number };
}

export interface OutcomeAudit {
  messages(replayId: string): Promise<ReplayMoved[]>;
  replayedAgain(replayId: string): Promise<ReplayedAgain[]>;
}

/** Reads what `classifyReplay` needs: the audit, the target queue's counts, then its DLQ. */
export async function replayOutcome(
  entry: ReplayHistoryEntry,
  deps: { sqs: SQSClient; audit: OutcomeAudit; holdSeconds: number; signal?: AbortSignal },
): Promise<ReplayOutcomeReport> {
  const targetQueueUrl = entry.targetQueueUrl ?? entry.sourceQueueUrl;
  // Records from before `--to` sent everything back to the source, whose DLQ they name.
  const dlqUrl = entry.targetQueueUrl ? entry.targetDeadLetterQueueUrl : entry.deadLetterQueueUrl;
  const [moved, movedOn] = await Promise.all([
    deps.audit.messages(entry.replayId),
    deps.audit.replayedAgain(entry.replayId),
  ]);
  // The target first, the DLQ after: a message dead-lettered in between is then seen twice
  // (counted in flight and found again, which wins), never missed.
  const target = await queueCounts(deps.sqs, targetQueueUrl);
  let deadLetters: DeadLetter[] = [];
  let hidden = 0;
  if (dlqUrl && moved.length > 0) {
    hidden = (await queueCounts(deps.sqs, dlqUrl)).inFlight;
    deadLetters = await peekDeadLetters(
      deps.sqs,
      {
        name: entry.targetQueue ?? entry.queue,
        url: targetQueueUrl,
        arn: "",
        queueName: queueNameOfUrl(targetQueueUrl),
        fifo: targetQueueUrl.endsWith(".fifo"),
        path: undefined,
        maxReceiveCount: undefined,
        deadLetterQueue: {
          url: dlqUrl,
          arn: "",
          queueName: queueNameOfUrl(dlqUrl),
          fifo: dlqUrl.endsWith(".fifo"),
        },
      },
      {
        limit: 1_000_000,
        holdSeconds: deps.holdSeconds,
        ...(deps.signal ? { signal: deps.signal } : {}),
      },
    );
  }
  const counts = classifyReplay({
    replayId: entry.replayId,
    moved,
    deadLetters,
    movedOn,
    targetDepth: target.visible + target.inFlight + target.delayed,
    hiddenInDeadLetterQueue: hidden,
  });
  return {
    replayId: entry.replayId,
    queue: entry.queue,
    target: entry.targetQueue ?? entry.queue,
    targetQueueUrl,
    deadLetterQueueUrl: dlqUrl ?? null,
    status: (entry as { status?: string }).status ?? "unknown",
    startedAt: entry.startedAt,
    moved: entry.moved ?? moved.length,
    tracked: entry.method !== "message-move-task",
    targetQueue: target,
    ...counts,
  };
}
