import { InvalidArgumentError } from "commander";
import { SpoolCliError } from "./errors.js";
import { parseDuration } from "./filters.js";

/** Argument parsers shared by the commands: a bad value is a one-line usage error. */

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function positiveInt(name: string, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from 1 to ${max}, got "${value}"`);
    }
    return n;
  };
}

/** An ISO 8601 time with a date and a time zone ("2026-11-20T00:00:00Z", "…+01:00"). */
export function isoTime(name: string) {
  return (value: string) => {
    const parsed = new Date(value);
    if (
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value.trim()) ||
      Number.isNaN(parsed.getTime())
    ) {
      throw new InvalidArgumentError(
        `${name} must be an ISO 8601 time with a zone, like 2026-11-20T00:00:00Z, got "${value}"`,
      );
    }
    return parsed;
  };
}

/** "90m", "72h", "3d" → whole seconds. */
export function durationSeconds(name: string) {
  return (value: string) => {
    try {
      const seconds = parseDuration(value, name) / 1000;
      if (!Number.isInteger(seconds) || seconds < 1) throw new Error("not whole seconds");
      return seconds;
    } catch (error) {
      throw new InvalidArgumentError(
        error instanceof SpoolCliError
          ? error.message
          : `${name} must be a whole number of seconds or more, like 90m, 72h or 3d, got "${value}"`,
      );
    }
  };
}
