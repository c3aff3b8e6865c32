/**
 * Exponential backoff with full jitter, expressed as an SQS visibility timeout.
 *
 * Powertools has no per-message backoff for SQS consumers, so Spool computes one here: a failed
 * record's visibility timeout is set to a random delay in [0, min(cap, base * 2^(attempt-1))],
 * so retries of many failed messages spread out instead of hitting a sick dependency together
 * ("full jitter", AWS Architecture Blog, "Exponential Backoff And Jitter").
 */

/** SQS refuses visibility timeouts above 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

export interface BackoffPolicy {
  /** Upper bound of the first retry's delay. */
  readonly baseSeconds: number;
  /** No delay is ever longer than this. */
  readonly capSeconds: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseSeconds: 2, capSeconds: 300 };

/** The largest delay full jitter may choose for the given attempt (1 = first delivery). */
export function backoffCeilingSeconds(attempt: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // 2^exponent overflows to Infinity long after the cap applies; Math.min handles that.
  const ceiling = Math.min(policy.capSeconds, policy.baseSeconds * 2 ** exponent);
  return Math.min(ceiling, MAX_VISIBILITY_TIMEOUT_SECONDS);
}

/**
 * The visibility timeout (whole seconds, as SQS wants) before the next attempt.
 * `random` is injectable so tests can pin the jitter.
 */
export function fullJitterDelaySeconds(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeilingSeconds(attempt, policy);
  return Math.min(Math.floor(random() * (ceiling + 1)), Math.floor(ceiling));
}

/** Validates a policy read from configuration; throws with the offending value named. */
export function assertBackoffPolicy(policy: BackoffPolicy): BackoffPolicy {
  const { baseSeconds, capSeconds } = policy;
  if (!Number.isFinite(baseSeconds) || baseSeconds < 0) {
    throw new Error(`backoff baseSeconds must be a number >= 0, got ${baseSeconds}`);
  }
  if (!Number.isFinite(capSeconds) || capSeconds < baseSeconds) {
    throw new Error(
      `backoff capSeconds must be >= baseSeconds (${baseSeconds}), got ${capSeconds}`,
    );
  }
  if (capSeconds > MAX_VISIBILITY_TIMEOUT_SECONDS) {
    throw new Error(
      `backoff capSeconds must be <= ${MAX_VISIBILITY_TIMEOUT_SECONDS} (the SQS visibility limit), got ${capSeconds}`,
    );
  }
  return policy;
}
