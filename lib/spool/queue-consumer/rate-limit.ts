import { Token } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { CONSUMER_ENV } from "../runtime/consumer-config.js";
import {
  encodeKeySelector,
  MAX_PER_SECOND,
  type RateLimitKeySelector,
} from "../runtime/rate-limit-policy.js";
import { invalid, requireInteger } from "../runtime/validation.js";

/** Which part of a record picks its bucket: one bucket per distinct value (a tenant, an account). */
export type RateLimitKey =
  /** A field of the JSON body; a dotted path reaches into objects (`"tenant.id"`). */
  | { readonly bodyField: string }
  /** A String message attribute, by name. */
  | { readonly messageAttribute: string };

/**
 * How fast a consumer may start records, across all its concurrent invocations: a token bucket
 * kept in the consumer's idempotency table. A record over the limit is deferred (put back on its
 * queue with a delay) without spending a delivery; see the README's "Rate limit".
 */
export interface RateLimit {
  /** Records started per second, on average (above 0, at most 1,000; 0.5 is one every 2 s). */
  readonly perSecond: number;
  /** How many records may start at once after a quiet spell: the bucket's size (an integer ≥ 1). */
  readonly burst: number;
  /**
   * One bucket per value of this part of the record, each with the full `perSecond` and `burst`.
   * Records where it is missing or empty share one bucket.
   * @default - one bucket for the whole consumer
   */
  readonly key?: RateLimitKey;
}

/** Checks a rate limit's bounds, and that the consumer has a table to keep its buckets in. */
export function validateRateLimit(
  scope: IConstruct,
  rateLimit: RateLimit | undefined,
  hasIdempotencyTable: boolean,
): void {
  if (!rateLimit) return;
  const { perSecond, burst, key } = rateLimit;
  if (
    !Token.isUnresolved(perSecond) &&
    !(Number.isFinite(perSecond) && perSecond > 0 && perSecond <= MAX_PER_SECOND)
  ) {
    invalid(
      scope,
      `rateLimit.perSecond must be a number above 0 and at most ${MAX_PER_SECOND} (one bucket item's write limit), got ${perSecond}`,
    );
  }
  requireInteger(scope, "rateLimit.burst", burst, 1);
  if (key) selectorOf(scope, key);
  if (!hasIdempotencyTable) {
    invalid(
      scope,
      "rateLimit needs idempotencyTable (its token buckets are kept there, and a deferred record's re-send relies on it to run once), got no idempotencyTable",
    );
  }
}

/** The environment that hands a rate limit to the consumer (none without one). */
export function rateLimitEnvironment(
  scope: IConstruct,
  rateLimit: RateLimit | undefined,
): Record<string, string> {
  if (!rateLimit) return {};
  return {
    [CONSUMER_ENV.rateLimitPerSecond]: String(rateLimit.perSecond),
    [CONSUMER_ENV.rateLimitBurst]: String(rateLimit.burst),
    ...(rateLimit.key
      ? { [CONSUMER_ENV.rateLimitKey]: encodeKeySelector(selectorOf(scope, rateLimit.key)) }
      : {}),
  };
}

function selectorOf(scope: IConstruct, key: RateLimitKey): RateLimitKeySelector {
  const shown = JSON.stringify(key);
  if ("bodyField" in key && "messageAttribute" in key) {
    invalid(scope, `rateLimit.key must name either bodyField or messageAttribute, got ${shown}`);
  }
  if ("bodyField" in key) {
    const path = String(key.bodyField).split(".");
    if (!path.every((step) => step.length > 0)) {
      invalid(
        scope,
        `rateLimit.key.bodyField must be a field name or a dotted path of them, got ${shown}`,
      );
    }
    return { source: "body", path };
  }
  if ("messageAttribute" in key && /^[A-Za-z0-9_.-]{1,256}$/.test(String(key.messageAttribute))) {
    return { source: "attribute", name: key.messageAttribute };
  }
  return invalid(
    scope,
    `rateLimit.key must be { bodyField } or { messageAttribute } (a message attribute name: letters, digits, _ . -), got ${shown}`,
  );
}
