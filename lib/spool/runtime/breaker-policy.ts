/**
 * A dependency's circuit breaker as data, and the decisions made on its state. SDK-free:
 * circuit-breaker.ts keeps the state in DynamoDB and calls these; the consumer reads an open
 * breaker's error with `openDependencyRetryAfter` to defer the record instead of retrying it.
 *
 * States, as kept in the breaker's item:
 * - closed (no item, or `bstate` closed): calls go through; a failure that counts is added to a
 *   fixed window that starts with the first failure after the last window ended.
 * - open (`bstate` open, now < `openUntil`): no call; the record fails fast with DEPENDENCY_OPEN.
 * - half-open (`bstate` open, now >= `openUntil`): up to `halfOpenProbes` calls of this opening
 *   (`gen`) go through. A probe that succeeds closes the breaker; one that fails opens it again
 *   for another cool-down (a new `gen`). A probe that never reports (its invocation died) is taken
 *   as failed once a cool-down has passed since its slot opened, so a lost probe cannot hold the
 *   breaker half-open for ever.
 */
import { classify } from "./errors.js";

export interface BreakerOptions {
  /**
   * Failures within `window` that open the breaker (an integer, at least 1).
   * @default 5
   */
  readonly failureThreshold?: number;
  /**
   * Seconds in which `failureThreshold` failures must happen, counted from the first of them.
   * @default 60
   */
  readonly window?: number;
  /**
   * Seconds the breaker stays open before it lets probes through.
   * @default 30
   */
  readonly coolDown?: number;
  /**
   * Calls let through per opening once the cool-down has passed, across all invocations.
   * @default 1
   */
  readonly halfOpenProbes?: number;
  /**
   * Which errors of the call count as failures of the dependency.
   * @default - transient ones (classify()): a permanent error is the dependency answering that
   *   the request is wrong, which says it is up
   */
  readonly isFailure?: (error: unknown) => boolean;
}

export const BREAKER_DEFAULTS = {
  failureThreshold: 5,
  window: 60,
  coolDown: 30,
  halfOpenProbes: 1,
} as const;

/** A breaker's options resolved, in milliseconds. */
export interface BreakerPolicy {
  readonly failureThreshold: number;
  readonly windowMs: number;
  readonly coolDownMs: number;
  readonly halfOpenProbes: number;
  readonly isFailure: (error: unknown) => boolean;
}

/** A breaker name: part of a DynamoDB key, of a metric dimension and of an alarm name. */
export const BREAKER_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
/** The longest cool-down: an open record comes back by a delayed copy (at most 900 s per hop). */
export const MAX_COOL_DOWN_SECONDS = 3600;

/** Resolves and checks a breaker's options; throws a TypeError naming the breaker and the option. */
export function breakerPolicy(name: string, options: BreakerOptions = {}): BreakerPolicy {
  if (!BREAKER_NAME.test(name)) {
    throw new TypeError(
      `dependencyBreaker name must be 1-128 letters, digits or _ . : -, got "${name}"`,
    );
  }
  const o = { ...BREAKER_DEFAULTS, ...options };
  const check = (option: string, value: number, ok: boolean, rule: string) => {
    if (!ok)
      throw new TypeError(`dependencyBreaker ${name}: ${option} must be ${rule}, got ${value}`);
  };
  const integer = (value: number, min: number) => Number.isInteger(value) && value >= min;
  check("failureThreshold", o.failureThreshold, integer(o.failureThreshold, 1), "an integer ≥ 1");
  check("window", o.window, o.window > 0 && o.window <= 86_400, "seconds above 0, at most 86400");
  check(
    "coolDown",
    o.coolDown,
    o.coolDown >= 1 && o.coolDown <= MAX_COOL_DOWN_SECONDS,
    `seconds from 1 to ${MAX_COOL_DOWN_SECONDS}`,
  );
  check("halfOpenProbes", o.halfOpenProbes, integer(o.halfOpenProbes, 1), "an integer ≥ 1");
  return {
    failureThreshold: o.failureThreshold,
    windowMs: o.window * 1000,
    coolDownMs: o.coolDown * 1000,
    halfOpenProbes: o.halfOpenProbes,
    isFailure: options.isFailure ?? ((error) => classify(error).kind === "transient"),
  };
}

/** A breaker's item as read. */
export interface BreakerState {
  readonly open: boolean;
  /** Epoch ms the cool-down of the current opening ends (open only). */
  readonly openUntil: number;
  /** The opening's number: a probe's outcome applies only to the opening it was admitted in. */
  readonly gen: number;
  /** Probes admitted in this opening. */
  readonly probes: number;
  /** Failures counted in the current window (closed only). */
  readonly failures: number;
  /** Epoch ms the current failure window ends; undefined: no window running. */
  readonly windowEnd: number | undefined;
}

export const CLOSED: BreakerState = {
  open: false,
  openUntil: 0,
  gen: 0,
  probes: 0,
  failures: 0,
  windowEnd: undefined,
};

export type AdmissionDecision =
  /** Closed: call. */
  | { readonly kind: "call" }
  /** Half-open with a probe slot free: take it (a conditional write), then call. */
  | { readonly kind: "probe"; readonly gen: number }
  /** Half-open, every probe slot taken for a cool-down: the probes are lost; open again. */
  | { readonly kind: "reopen"; readonly gen: number }
  /** Open, or half-open with its probes out: do not call; come back in `retryAfterMs`. */
  | { readonly kind: "reject"; readonly retryAfterMs: number };

/** What a call finds, given the breaker's state at `nowMs`. */
export function decideAdmission(
  policy: BreakerPolicy,
  state: BreakerState,
  nowMs: number,
): AdmissionDecision {
  if (!state.open) return { kind: "call" };
  if (nowMs < state.openUntil) return { kind: "reject", retryAfterMs: state.openUntil - nowMs };
  if (state.probes < policy.halfOpenProbes) return { kind: "probe", gen: state.gen };
  // The probes' lease: one cool-down from the end of the last one.
  const probesLostAt = state.openUntil + policy.coolDownMs;
  if (nowMs >= probesLostAt) return { kind: "reopen", gen: state.gen };
  return { kind: "reject", retryAfterMs: probesLostAt - nowMs };
}

/** Whole seconds an open breaker asks a record to wait: at least 1. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

/**
 * The seconds an error from an open breaker asks its record to wait, or undefined for any other
 * error: the consumer defers such a record instead of counting a failed delivery.
 */
export function openDependencyRetryAfter(error: unknown): number | undefined {
  const failure = classify(error);
  if (failure.code !== "DEPENDENCY_OPEN") return undefined;
  const seconds = Number(failure.details?.retryAfterSeconds);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 1;
}

/** The metric, with a `dependency` dimension, whose Sum above 0 in a minute means an open breaker. */
export const BREAKER_OPEN_METRIC = "BreakerOpen";
