import { type Duration, Token } from "aws-cdk-lib";

/** Throws unless `value` (when given and resolved) is an integer from `min` to `max`. */
export function requireInteger(name: string, value: number | undefined, min: number, max: number) {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Throws unless `value` (when given and resolved) lies from `min` to `max` seconds. */
export function requireDuration(
  name: string,
  value: Duration | undefined,
  minSeconds: number,
  maxSeconds: number,
  options: { wholeMinutes?: boolean } = {},
) {
  if (value === undefined || Token.isUnresolved(value)) return;
  const seconds = value.toSeconds();
  if (seconds < minSeconds || seconds > maxSeconds) {
    throw new Error(
      `${name} must be from ${describe(minSeconds)} to ${describe(maxSeconds)}, got ${describe(seconds)}`,
    );
  }
  if (options.wholeMinutes && seconds % 60 !== 0) {
    throw new Error(`${name} must be a whole number of minutes, got ${describe(seconds)}`);
  }
}

function describe(seconds: number): string {
  if (seconds >= 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400} days`;
  if (seconds >= 3_600 && seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
