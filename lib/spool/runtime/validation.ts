import { type Duration, Token } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Validation of construct props, at synth time. It lives in the shared folder because every
 * construct validates; it imports aws-cdk-lib and constructs only (no AWS SDK, no Powertools),
 * and no Lambda code imports it.
 *
 * Errors name the construct path, the prop and the value received, so a stack with ten queues
 * says which one: `Spool/Messaging/Orders: maxReceiveCount must be an integer from 1 to 1000, got 0`.
 */
export class SpoolValidationError extends Error {
  override readonly name = "ValidationError";
  /** The path of the construct whose props were refused. */
  readonly constructPath: string | undefined;

  constructor(scope: IConstruct | undefined, message: string) {
    super(scope ? `${scope.node.path}: ${message}` : message);
    this.constructPath = scope?.node.path;
  }
}

/** Throws a SpoolValidationError for `scope`. */
export function invalid(scope: IConstruct | undefined, message: string): never {
  throw new SpoolValidationError(scope, message);
}

/**
 * Seconds of a Duration (fractions kept: 500 ms is 0.5), or undefined when it is absent or an
 * unresolved token.
 */
export function secondsOf(value: Duration | undefined): number | undefined {
  if (value === undefined || Token.isUnresolved(value) || value.isUnresolved()) return undefined;
  return value.toSeconds({ integral: false });
}

/**
 * Throws unless `value` (when given and resolved) is an integer from `min` to `max`, or of at
 * least `min` when there is no `max`.
 */
export function requireInteger(
  scope: IConstruct | undefined,
  name: string,
  value: number | undefined,
  min: number,
  max = Number.POSITIVE_INFINITY,
  unit = "",
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `of at least ${min}` : `from ${min} to ${max}`;
    invalid(scope, `${name} must be an integer ${range}${unit}, got ${value}${unit}`);
  }
}

/**
 * Throws unless `value` (when given and resolved) lies from `minSeconds` to `maxSeconds` (a
 * whole number of seconds with `wholeSeconds`). `rule` says the range as the prop's docs say it
 * ("from 60 seconds to 24 hours", "at least 1 day"); the value is reported in seconds, so it
 * reads exactly as given: `maxEventAge must be from 60 seconds to 24 hours, got 172800 s`.
 * Returns the seconds (undefined when absent or unresolved) for checks between props.
 */
export function requireSeconds(
  scope: IConstruct | undefined,
  name: string,
  value: Duration | undefined,
  minSeconds: number,
  maxSeconds: number,
  rule: string,
  options: { readonly wholeSeconds?: boolean } = {},
): number | undefined {
  const seconds = secondsOf(value);
  if (seconds === undefined) return undefined;
  const whole = !options.wholeSeconds || Number.isInteger(seconds);
  if (!whole || seconds < minSeconds || seconds > maxSeconds) {
    invalid(scope, `${name} must be ${rule}, got ${seconds} s`);
  }
  return seconds;
}

/**
 * Throws unless `value` (when given and resolved) lies from `min` to `max` seconds; bounds and
 * value are described in the largest whole unit (`must be from 1 min to 14 days, got 30 s`).
 */
export function requireDuration(
  scope: IConstruct | undefined,
  name: string,
  value: Duration | undefined,
  minSeconds: number,
  maxSeconds: number,
  options: { readonly wholeMinutes?: boolean } = {},
): void {
  const seconds = secondsOf(value);
  if (seconds === undefined) return;
  if (seconds < minSeconds || seconds > maxSeconds) {
    invalid(
      scope,
      `${name} must be from ${describeSeconds(minSeconds)} to ${describeSeconds(maxSeconds)}, got ${describeSeconds(seconds)}`,
    );
  }
  if (options.wholeMinutes && seconds % 60 !== 0) {
    invalid(scope, `${name} must be a whole number of minutes, got ${describeSeconds(seconds)}`);
  }
}

/** Throws unless `name` (when given and resolved) matches `pattern`; `rule` says what it must be. */
export function requirePattern(
  scope: IConstruct | undefined,
  name: string,
  value: string | undefined,
  pattern: RegExp,
  rule: string,
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!pattern.test(value)) invalid(scope, `${name} must be ${rule}, got "${value}"`);
}

/** 90 → "90 s", 600 → "10 min", 7200 → "2 h", 172800 → "2 days". */
export function describeSeconds(seconds: number): string {
  if (seconds >= 86_400 && seconds % 86_400 === 0) {
    const days = seconds / 86_400;
    return `${days} ${days === 1 ? "day" : "days"}`;
  }
  if (seconds >= 3_600 && seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/**
 * AWS's rules for the names Spool's constructs accept, checked at synth because CloudFormation
 * refuses them only mid-deploy (and CDK's own checks, where it has any, do not name the path).
 */
export const NAME_RULES = {
  /** DynamoDB table names. */
  table: {
    pattern: /^[A-Za-z0-9_.-]{3,255}$/,
    rule: "3–255 letters, digits, underscores, hyphens or dots",
  },
  /** EventBridge Scheduler schedule and schedule group names. */
  schedule: {
    pattern: /^[0-9A-Za-z_.-]{1,64}$/,
    rule: "1–64 letters, digits, hyphens, underscores or dots",
  },
  /** Lambda function names (the name, not an ARN). */
  function: {
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
    rule: "1–64 letters, digits, hyphens or underscores",
  },
  /** Step Functions state machine names. */
  stateMachine: {
    pattern: /^[A-Za-z0-9+!@.()=_'-]{1,80}$/,
    rule: "1–80 letters, digits or + ! @ . ( ) - = _ '",
  },
} as const;

/** Throws unless `value` (when given and resolved) is a valid name of that kind. */
export function requireName(
  scope: IConstruct | undefined,
  prop: string,
  value: string | undefined,
  kind: keyof typeof NAME_RULES,
): void {
  requirePattern(scope, prop, value, NAME_RULES[kind].pattern, NAME_RULES[kind].rule);
}
