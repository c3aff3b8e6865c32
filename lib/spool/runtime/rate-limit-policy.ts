/**
 * A consumer's rate limit as data, and the token-bucket arithmetic on it. SDK-free: the
 * QueueConsumer construct writes the policy into its function's environment (the variable names
 * are in consumer-config.ts), the consumer reads it back, and rate-limit.ts keeps the bucket in
 * DynamoDB.
 *
 * The bucket is kept in its GCRA form (the generic cell rate algorithm, which is a token bucket
 * described by one number): a "theoretical arrival time" `tat`, the time at which the bucket will
 * be full again if nothing else takes a token. Tokens come back every `intervalMs` = 1000 /
 * perSecond; `burst` tokens fit. A token taken at `now` is due at max(tat, now) - tolerance, where
 * tolerance = (burst - 1) × intervalMs, and moves tat on by one interval. One number means one
 * conditional write per token, and no clock is needed to refill anything.
 */

/** Which part of a record picks its bucket: one bucket per distinct value. */
export type RateLimitKeySelector =
  /** A field of the JSON body, by its path (`["tenant", "id"]` for `tenant.id`). */
  | { readonly source: "body"; readonly path: readonly string[] }
  /** A message attribute (a String one), by name. */
  | { readonly source: "attribute"; readonly name: string };

export interface RateLimitPolicy {
  /** Tokens added per second (may be fractional: 0.5 is one every 2 s). */
  readonly perSecond: number;
  /** Tokens the bucket holds: how many records may start at once after a quiet spell. */
  readonly burst: number;
  /** Undefined: one bucket for the whole consumer. */
  readonly key?: RateLimitKeySelector | undefined;
}

/**
 * Largest rate one bucket takes. Every token is a write to one DynamoDB item, and an item takes
 * at most 1,000 writes per second; past that, split the work by `key` or across queues.
 */
export const MAX_PER_SECOND = 1000;

/** The bucket used by records whose key selector finds nothing. */
export const SHARED_BUCKET = "*";

/** `body:tenant.id` or `attribute:tenant-id`: how the construct writes a selector to the environment. */
export function encodeKeySelector(selector: RateLimitKeySelector): string {
  return selector.source === "body"
    ? `body:${selector.path.join(".")}`
    : `attribute:${selector.name}`;
}

/** Reads what encodeKeySelector wrote; undefined when it is malformed. */
export function decodeKeySelector(raw: string): RateLimitKeySelector | undefined {
  const colon = raw.indexOf(":");
  const source = raw.slice(0, colon);
  const rest = raw.slice(colon + 1);
  if (colon < 0 || rest.length === 0) return undefined;
  if (source === "attribute") return { source, name: rest };
  if (source !== "body") return undefined;
  const path = rest.split(".");
  return path.every((p) => p.length > 0) ? { source, path } : undefined;
}

/** The bucket name a record's body or attributes select (SHARED_BUCKET when there is none). */
export function bucketOf(
  selector: RateLimitKeySelector | undefined,
  body: unknown,
  attributes: Readonly<Record<string, { readonly stringValue?: string | undefined }>> | undefined,
): string {
  if (!selector) return SHARED_BUCKET;
  let value: unknown;
  if (selector.source === "attribute") {
    value = attributes?.[selector.name]?.stringValue;
  } else {
    value = body;
    for (const step of selector.path) {
      value =
        value !== null && typeof value === "object" && !Array.isArray(value)
          ? (value as Record<string, unknown>)[step]
          : undefined;
    }
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value === "string" && value.length > 0 ? value : SHARED_BUCKET;
}

/** What one acquisition decides, given the bucket's tat as last read. */
export type BucketDecision =
  /** A token is taken: the bucket's tat becomes `tat`; the record may start in `waitMs`. */
  | { readonly kind: "take"; readonly tat: number; readonly waitMs: number }
  /** No token within the wait allowed: the next one is due in `retryInMs`. */
  | { readonly kind: "over"; readonly retryInMs: number };

export function intervalMs(policy: RateLimitPolicy): number {
  return 1000 / policy.perSecond;
}

export function toleranceMs(policy: RateLimitPolicy): number {
  return (policy.burst - 1) * intervalMs(policy);
}

/**
 * Takes one token from a bucket whose tat is `tat` (undefined: never used, or expired, so full)
 * at `nowMs`, if it is due within `maxWaitMs`; otherwise says when the next token is due.
 */
export function decide(
  policy: RateLimitPolicy,
  tat: number | undefined,
  nowMs: number,
  maxWaitMs: number,
): BucketDecision {
  const base = Math.max(tat ?? nowMs, nowMs);
  const waitMs = Math.max(0, base - toleranceMs(policy) - nowMs);
  if (waitMs > maxWaitMs) return { kind: "over", retryInMs: waitMs };
  return { kind: "take", tat: base + intervalMs(policy), waitMs };
}
