/**
 * What the breaker-guarded test consumer and its emulator test share. SDK-free.
 */

/**
 * The breaker around the consumer's dependency: open after 5 failures within 30 s, cool down for
 * 3 s (short, so the suite sees several openings and the drain in seconds), one probe at a time.
 */
export const GUARDED_BREAKER = {
  failureThreshold: 5,
  window: 30,
  coolDown: 3,
  halfOpenProbes: 1,
} as const;

/** The breaker's name: its item is `breaker-guarded#breaker#dependency` in the idempotency table. */
export const GUARDED_DEPENDENCY = "dependency";
export const GUARDED_CONSUMER = "breaker-guarded";

/** One item per message under its run, so a test reads a whole run with one Query. */
export function guardedKey(runId: string, id: string) {
  return { pk: `${GUARDED_CONSUMER}#${runId}`, sk: id };
}

/**
 * The run's dependency: one item that counts every call made to it (`calls`) and says whether it
 * is down (`failing`, which the test flips). Its sort key cannot be a message id.
 */
export function dependencyKey(runId: string) {
  return guardedKey(runId, "#dependency");
}
