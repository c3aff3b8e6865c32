/**
 * The mark a replayed dead letter carries (`spool dlq replay`), read by the consumer and by the
 * CLI. SDK-free and dependency-free: both sides import it.
 *
 * One attribute, not one per fact: SQS allows 10 message attributes, a dead letter spends one on
 * its metadata, and the original message's own attributes must keep theirs. The consumer keeps
 * this attribute (first, ahead of the others) when it dead-letters a replayed message again, so
 * `spool dlq history <replay-id>` finds it in the dead-letter queue and the next replay can count.
 */
export const REPLAY_ATTRIBUTE = "spool-replay";

export interface ReplayMarker {
  /** The replay run that sent it (`spool dlq history <replayId>`). */
  readonly replayId: string;
  /**
   * How many replays this message has been through: 1 for the first, one more each time a
   * letter that was replayed and dead-lettered again is replayed again. Absent on marks written
   * before replay counts existed: read as 1.
   */
  readonly count?: number;
  readonly replayedAt?: string;
  readonly replayedBy?: string;
  /** Its id in the dead-letter queue it was replayed from. */
  readonly deadLetterId: string;
  /** Its id on the source queue before it was first dead-lettered. */
  readonly originalId?: string;
  /** The replay before this one, when it had been replayed already. */
  readonly previousReplayId?: string;
  /** Where the replay sent it (`--to`), when not back to its own queue. */
  readonly target?: string;
}

type AttributeShape = { StringValue?: string; stringValue?: string };

/** The marker on a message (SDK or Lambda event attribute shape); undefined when there is none. */
export function parseReplayMarker(
  attributes: Record<string, AttributeShape> | undefined,
): ReplayMarker | undefined {
  const attribute = attributes?.[REPLAY_ATTRIBUTE];
  const raw = attribute?.StringValue ?? attribute?.stringValue;
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<ReplayMarker>;
    if (typeof parsed.replayId !== "string" || typeof parsed.deadLetterId !== "string") {
      return undefined;
    }
    return parsed as ReplayMarker;
  } catch {
    return undefined;
  }
}

/** The replay count a marker says (1 for a marker written before counts existed). */
export function replayCountOf(marker: ReplayMarker | undefined): number {
  if (!marker) return 0;
  return Number.isInteger(marker.count) && (marker.count as number) > 0
    ? (marker.count as number)
    : 1;
}

/**
 * Log keys for a replayed record (empty for any other): every line the consumer writes about it,
 * "processed" included, names its replay, so an operator can confirm deliveries in the logs.
 */
export function replayLogKeys(attributes: Record<string, AttributeShape> | undefined): {
  replayId?: string;
  replayCount?: number;
} {
  const marker = parseReplayMarker(attributes);
  return marker ? { replayId: marker.replayId, replayCount: replayCountOf(marker) } : {};
}

/** The metric a consumer adds when it dead-letters a replayed message again. */
export const REPLAY_DEAD_LETTERED_AGAIN_METRIC = "ReplayDeadLetteredAgain";
