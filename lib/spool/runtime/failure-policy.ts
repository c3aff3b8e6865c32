/**
 * What happens to a record that failed: dead-lettered (and why), retried (after how long), or
 * acknowledged as a duplicate. A pure function of the facts, so the failure-handling tables in
 * docs/guarantees.md and in this folder's README are tested row by row against it
 * (test/lib/spool/runtime/failure-policy.test.ts) and the docs cannot drift from the code.
 *
 * The record pipeline (sqs-consumer.ts) gathers the facts, asks, and carries the decision out.
 */
import {
  type BackoffPolicy,
  fullJitterDelaySeconds,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
} from "./backoff.js";
import type { DeadLetterReason, ErrorCode, FailureKind } from "./error-codes.js";

/** The failure as classify() reads it. */
export interface RecordFailure {
  readonly kind: FailureKind;
  readonly code: ErrorCode;
  /** `retryAfterSeconds` here is a floor for the retry delay (e.g. another run's lease). */
  readonly details?: Record<string, unknown>;
}

export interface FailureFacts {
  readonly failure: RecordFailure;
  /** Delivery number, 1 for the first (ApproximateReceiveCount). */
  readonly attempt: number;
  /** The source queue's maxReceiveCount; undefined: never out of attempts here. */
  readonly maxReceiveCount: number | undefined;
}

/**
 * How many times a record out of attempts is sent again as a new message because another
 * delivery still held its work (see `requeue`); past this it is dead-lettered as any other.
 */
export const MAX_REQUEUES = 3;

/**
 * Failures after which the work may still finish: another delivery holds it
 * (DUPLICATE_IN_PROGRESS), or this one's own step goes on past the record deadline
 * (RECORD_DEADLINE). Out of attempts, such a record is sent again rather than dead-lettered, so
 * work that does finish never also leaves a dead letter.
 */
const WORK_MAY_STILL_FINISH: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "DUPLICATE_IN_PROGRESS",
  "RECORD_DEADLINE",
]);

/** The longest a re-sent copy can wait (SQS's DelaySeconds maximum). */
const MAX_REQUEUE_DELAY_SECONDS = 900;

export interface FailurePolicyInput extends FailureFacts {
  /**
   * Whether the record's work is already COMPLETED (its idempotency record). Only needed when
   * `completionMatters` says so: the pipeline looks it up only then.
   */
  readonly completed: boolean;
  /** Seconds until an in-progress idempotency record taken by this invocation expires. */
  readonly leaseSeconds: number;
  readonly backoff: BackoffPolicy;
  /** In [0, 1); the jitter's source. */
  readonly random: () => number;
  /** A FIFO queue: no per-message delay, and a copy sent again would lose its place in its group. */
  readonly fifo?: boolean;
  /** How many times this message was already sent again by `requeue` (its attribute). */
  readonly requeues?: number;
}

export type FailureDecision =
  | {
      readonly action: "dead-letter";
      readonly reason: DeadLetterReason;
      /**
       * When the dead letter cannot be sent (no DLQ configured, SQS unavailable), the record is
       * retried after this many seconds instead: with the backoff, so a short outage does not
       * burn its remaining attempts.
       */
      readonly fallbackDelaySeconds: number;
    }
  | {
      readonly action: "retry";
      /** The record's visibility timeout: when SQS delivers it again. */
      readonly delaySeconds: number;
    }
  | { readonly action: "acknowledge-duplicate" }
  | {
      /**
       * Out of attempts while another delivery still holds its work (a duplicate in progress),
       * or while this delivery's own step goes on past the record deadline: that run may finish
       * it, or its lease may run out with the work undone. Sent again as
       * a new message after the lease (with a fresh receive count), then acknowledged: the copy
       * finds the work done (a duplicate) or does it. Standard queues only.
       */
      readonly action: "requeue";
      readonly delaySeconds: number;
    };

/** On its last allowed delivery: the redrive policy would move it bare at the next receive. */
export function outOfAttempts(attempt: number, maxReceiveCount: number | undefined): boolean {
  return maxReceiveCount !== undefined && attempt >= maxReceiveCount;
}

/**
 * Whether the decision depends on the record's work being done already: only for a transient
 * failure out of attempts. A record whose deliveries keep failing before they reach the
 * idempotency check (a sibling's timeout, a flaky dependency) would otherwise be dead-lettered
 * although its effect happened.
 */
export function completionMatters(facts: FailureFacts): boolean {
  return facts.failure.kind === "transient" && outOfAttempts(facts.attempt, facts.maxReceiveCount);
}

export function decideFailure(input: FailurePolicyInput): FailureDecision {
  if (completionMatters(input) && input.completed) return { action: "acknowledge-duplicate" };
  const delaySeconds = retryDelaySeconds(input);
  if (input.failure.kind === "permanent") {
    return {
      action: "dead-letter",
      reason: "permanent-failure",
      fallbackDelaySeconds: delaySeconds,
    };
  }
  if (
    outOfAttempts(input.attempt, input.maxReceiveCount) &&
    WORK_MAY_STILL_FINISH.has(input.failure.code) &&
    !input.fifo &&
    (input.requeues ?? 0) < MAX_REQUEUES
  ) {
    // At least a second, so the copy cannot overtake the lease it waits for by rounding.
    const delaySeconds = Math.min(Math.max(1, input.leaseSeconds), MAX_REQUEUE_DELAY_SECONDS);
    return { action: "requeue", delaySeconds };
  }
  if (outOfAttempts(input.attempt, input.maxReceiveCount)) {
    return {
      action: "dead-letter",
      reason: "retries-exhausted",
      fallbackDelaySeconds: delaySeconds,
    };
  }
  return { action: "retry", delaySeconds };
}

/**
 * Full-jitter backoff, never shorter than what the failure asks for:
 * - a FIFO record skipped behind its group's failed head comes back at once (0): the head holds
 *   the group, and waiting longer would stall it after the head succeeds;
 * - a duplicate still in progress resolves only when the other attempt finishes or its lease (at
 *   most one function timeout) expires: retrying sooner just burns attempts;
 * - a business step may say when to come back (`retryAfterSeconds`), e.g. a run's lease.
 */
function retryDelaySeconds(input: FailurePolicyInput): number {
  const { failure } = input;
  if (failure.code === "BLOCKED_BY_GROUP") return 0;
  const jitter = fullJitterDelaySeconds(input.attempt, input.backoff, input.random);
  const retryAfter = Number(failure.details?.retryAfterSeconds);
  const floor =
    failure.code === "DUPLICATE_IN_PROGRESS"
      ? input.leaseSeconds
      : Number.isFinite(retryAfter)
        ? Math.min(Math.max(0, Math.ceil(retryAfter)), MAX_VISIBILITY_TIMEOUT_SECONDS)
        : 0;
  return Math.max(jitter, floor);
}
