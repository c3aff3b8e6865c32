import { createHash } from "node:crypto";
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import {
  parseReplayMarker,
  REPLAY_ATTRIBUTE,
  type ReplayMarker,
  replayCountOf,
} from "../../../lib/spool/runtime/replay-marker.js";
import { type DeadLetter, replayAttributes } from "./dead-letters.js";
import type { QueueRef } from "./stack.js";

/** SQS refuses more than 10 message attributes on one message. */
const MAX_MESSAGE_ATTRIBUTES = 10;

/**
 * Where a replay sends dead letters: the queue they came from, or (`--to`) another one, such as
 * a quarantine or low-rate queue. `deadLetterQueueUrl` is where a consumer of that queue
 * dead-letters again: `spool dlq history` looks there.
 */
export interface ReplayTarget extends QueueRef {
  /** Its friendly name in the stack, or its SQS name for a queue outside it. */
  readonly name: string;
  readonly deadLetterQueueUrl: string | undefined;
}

/**
 * A FIFO replay needs a deduplication id that differs from the original's (SQS would drop the
 * replay as a duplicate within five minutes of the original) yet stays the same if this very
 * dead letter is sent twice (a replay killed between send and delete, then run again).
 */
export function replayDeduplicationId(deadLetterId: string): string {
  return createHash("sha256").update(`spool-replay:${deadLetterId}`).digest("hex");
}

/**
 * The mark a replayed message carries: this replay, and one more replay than the mark the dead
 * letter already carried (a replayed message dead-lettered again keeps its mark).
 */
export function replayMarkerFor(
  letter: DeadLetter,
  replay: { replayId: string; replayedAt: string; replayedBy: string; target?: string },
): ReplayMarker {
  const previous = parseReplayMarker(letter.attributes);
  return {
    replayId: replay.replayId,
    count: replayCountOf(previous) + 1,
    replayedAt: replay.replayedAt,
    replayedBy: replay.replayedBy,
    deadLetterId: letter.id,
    originalId: letter.originalId,
    ...(previous ? { previousReplayId: previous.replayId } : {}),
    ...(replay.target ? { target: replay.target } : {}),
  };
}

/**
 * The earlier replay a dead letter came back from, for its audit record (empty for a letter
 * never replayed): its history then counts the letter as dead-lettered again after it is gone.
 */
export function previousReplay(letter: DeadLetter): {
  previousReplayId?: string;
  previousDeadLetterId?: string;
} {
  const previous = parseReplayMarker(letter.attributes);
  return previous
    ? { previousReplayId: previous.replayId, previousDeadLetterId: previous.deadLetterId }
    : {};
}

export function replayMessageAttributes(
  letter: DeadLetter,
  marker: ReplayMarker,
): { attributes: Record<string, MessageAttributeValue>; marked: boolean } {
  const attributes = replayAttributes(letter);
  // An earlier replay's mark is replaced by this one, which counts it.
  delete attributes[REPLAY_ATTRIBUTE];
  if (Object.keys(attributes).length >= MAX_MESSAGE_ATTRIBUTES) {
    // The original already uses every attribute slot SQS allows: send it as it was; the audit
    // record still names it.
    return { attributes, marked: false };
  }
  attributes[REPLAY_ATTRIBUTE] = { DataType: "String", StringValue: JSON.stringify(marker) };
  return { attributes, marked: true };
}

/** What SendMessage(Batch) needs to put one dead letter on the target, as it was. */
function replayEntry(target: QueueRef, letter: DeadLetter, marker: ReplayMarker) {
  const { attributes } = replayMessageAttributes(letter, marker);
  return {
    MessageBody: letter.body,
    ...(Object.keys(attributes).length ? { MessageAttributes: attributes } : {}),
    ...(target.fifo
      ? {
          MessageGroupId: letter.groupId ?? "spool-replay",
          MessageDeduplicationId: replayDeduplicationId(letter.id),
        }
      : {}),
  };
}

/** Sends one dead letter to the replay's target; resolves to its new message id. */
export async function sendBack(
  sqs: SQSClient,
  target: QueueRef,
  letter: DeadLetter,
  marker: ReplayMarker,
): Promise<string> {
  const result = await sqs.send(
    new SendMessageCommand({ QueueUrl: target.url, ...replayEntry(target, letter, marker) }),
  );
  if (!result.MessageId) throw new Error("SendMessage returned no message id");
  return result.MessageId;
}

/** One letter's fate in a send: its new id on the target, or why it was not sent. */
export type SendResult = { readonly sent: string } | { readonly error: string };

/**
 * Sends up to 10 dead letters in one call (a single one with SendMessage), in their order: on a
 * FIFO target the entries of a group keep it. Resolves to one result per letter, in order; a
 * letter SQS does not list as successful counts as not sent, so it is never deleted.
 */
export async function sendBackAll(
  sqs: SQSClient,
  target: QueueRef,
  letters: readonly { letter: DeadLetter; marker: ReplayMarker }[],
): Promise<SendResult[]> {
  if (letters.length === 1) {
    const [{ letter, marker }] = letters as [{ letter: DeadLetter; marker: ReplayMarker }];
    return [
      await sendBack(sqs, target, letter, marker).then(
        (sent) => ({ sent }),
        (error: unknown) => ({ error: (error as Error).message }),
      ),
    ];
  }
  const entries: SendMessageBatchRequestEntry[] = letters.map(({ letter, marker }, i) => ({
    Id: `e${i}`,
    ...replayEntry(target, letter, marker),
  }));
  try {
    const { Successful = [], Failed = [] } = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: target.url, Entries: entries }),
    );
    const sent = new Map(Successful.map((s) => [s.Id, s.MessageId]));
    const failed = new Map(Failed.map((f) => [f.Id, `${f.Code ?? "error"}: ${f.Message ?? ""}`]));
    return entries.map((entry): SendResult => {
      const id = sent.get(entry.Id);
      if (id) return { sent: id };
      return { error: failed.get(entry.Id) ?? "SendMessageBatch did not report this entry" };
    });
  } catch (error) {
    // Not known to be on the target, so none is deleted: if SQS did take some before the call
    // failed, a later replay sends them again (a duplicate, never a loss).
    return entries.map(() => ({ error: (error as Error).message }));
  }
}
