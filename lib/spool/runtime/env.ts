/**
 * A function's configuration, read from its environment once at init. What is missing or
 * malformed throws there, naming the variable: a misconfigured function then fails every
 * invocation visibly (errors, alarms, records back on the queue) instead of classifying its own
 * misconfiguration as each message's fault. An empty table name would otherwise surface as a
 * DynamoDB ValidationException, read as permanent, and dead-letter every message.
 *
 * SDK-free: constructs import the names from the same contract modules that the runtime reads.
 */

/** A function's environment is not what its construct writes. */
export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value; throws when it is missing or empty. `setBy` says which construct writes it. */
export function requireEnv(name: string, setBy: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new ConfigurationError(`${name} is not set (it is written by ${setBy})`);
  }
  return value;
}

/** The variable's value, or undefined when it is missing or empty. */
export function optionalEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

/** An integer variable within [min, max]; `fallback` when it is missing. */
export function intEnv(
  name: string,
  range: { readonly min: number; readonly max?: number; readonly fallback?: number },
  env: Env = process.env,
): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) {
    if (range.fallback === undefined) throw new ConfigurationError(`${name} is not set`);
    return range.fallback;
  }
  const value = Number(raw);
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(value) || value < range.min || value > max) {
    // Worded like the constructs' prop validation (runtime/validation.ts).
    const bounds =
      range.max !== undefined
        ? `an integer from ${range.min} to ${max}`
        : range.min === 1
          ? "a positive integer"
          : `an integer of at least ${range.min}`;
    throw new ConfigurationError(`${name} must be ${bounds}, got ${raw}`);
  }
  return value;
}

/** A JSON variable; throws, naming it, when it is missing or not JSON. */
export function jsonEnv<T>(name: string, setBy: string, env: Env = process.env): T {
  const raw = requireEnv(name, setBy, env);
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new ConfigurationError(`${name} must be JSON (it is written by ${setBy}), got "${raw}"`);
  }
}

/** One of `allowed`; `fallback` when missing. */
export function oneOfEnv<T extends string>(
  name: string,
  allowed: readonly T[],
  fallback: T,
  env: Env = process.env,
): T {
  const raw = optionalEnv(name, env) ?? fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigurationError(
      `${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got "${raw}"`,
    );
  }
  return raw as T;
}
