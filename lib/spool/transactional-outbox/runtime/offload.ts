import type { Logger } from "@aws-lambda-powertools/logger";
import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { ConfigurationError } from "../../runtime/env.js";
import type { SpoolEvent } from "../../runtime/envelope.js";
import type { PayloadObjects } from "../../runtime/payload-pointer.js";
import { PAYLOAD_BUCKET_ENV } from "../../runtime/payload-switch.js";
import { offloadEvent } from "../../runtime/producer.js";

/**
 * The size of a PutEvents entry as EventBridge counts it against its limit ("Calculating
 * PutEvents event entry size" in the EventBridge User Guide): Time, if given, is 14 bytes;
 * Source, DetailType, Detail and each of Resources count their UTF-8 bytes. EventBusName and
 * TraceHeader do not count.
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (s: string | undefined) => (s ? Buffer.byteLength(s, "utf8") : 0);
  return (
    (entry.Time ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, r) => sum + bytes(r), 0)
  );
}

/** Whether this entry goes to the store: above the threshold (the caller checks there is one). */
export function needsOffload(entry: PutEventsRequestEntry, thresholdBytes: number): boolean {
  return entrySize(entry) > thresholdBytes;
}

/** What offloading needs of a publisher candidate. */
interface Offloadable {
  readonly id: string | undefined;
  readonly entry?: PutEventsRequestEntry;
  readonly event?: SpoolEvent;
  /** The event JSON as the producer wrote it. */
  readonly body: string;
  /** Over the threshold: to be published as a pointer. */
  readonly offload?: boolean;
}

/**
 * Moves each oversized candidate's event to the payload store and gives it the pointer entry:
 * the object is the event JSON as the producer wrote it (so a consumer resolves the very bytes it
 * would have got inline), and the detail keeps every envelope field but `data` beside the
 * pointer, so the bus rules still match it. A retried publish writes the same object again under
 * the same key (its SHA-256), renewing its age. A write that fails (throttling, a network error)
 * leaves the candidate unpublished, for the stream to retry: nothing is published before its
 * object exists.
 */
export async function offloadOversized<C extends Offloadable>(
  candidates: readonly C[],
  config: { readonly payloadBucket: string | undefined },
  deps: {
    readonly payloadObjects?: PayloadObjects | undefined;
    readonly logger: Pick<Logger, "info" | "warn">;
  },
): Promise<{ ready: C[]; failed: C[] }> {
  const ready: C[] = [];
  const failed: C[] = [];
  for (const candidate of candidates) {
    if (!candidate.offload || !candidate.entry || !candidate.event) {
      ready.push(candidate);
      continue;
    }
    if (config.payloadBucket === undefined || deps.payloadObjects === undefined) {
      throw new ConfigurationError(
        `${PAYLOAD_BUCKET_ENV} names a payload store, but the publisher was given no payloadObjects to write to it`,
      );
    }
    try {
      const detail = await offloadEvent(
        candidate.body,
        candidate.event as unknown as Record<string, unknown>,
        { bucket: config.payloadBucket, objects: deps.payloadObjects },
      );
      // The pointer detail is also what a dead letter of it carries (EventBridge refusing it for
      // good): small enough for any queue, and a replay into the outbox publishes it as it is.
      ready.push({ ...candidate, body: detail, entry: { ...candidate.entry, Detail: detail } });
      deps.logger.info("outbox event offloaded to the payload store", {
        eventId: candidate.id,
        bytes: Buffer.byteLength(candidate.body, "utf8"),
      });
    } catch (error) {
      deps.logger.warn("could not write an oversized event to the payload store", {
        eventId: candidate.id,
        error: (error as Error).message,
      });
      failed.push(candidate);
    }
  }
  return { ready, failed };
}
