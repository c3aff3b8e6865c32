/**
 * The per-record deadline of a queue consumer. A record still running when it comes is given up
 * (reported failed, retried later) so the invocation answers before the function times out: a
 * timeout would throw away the acknowledgement of every record of the batch that did finish.
 */
import { TransientError } from "./errors.js";

/**
 * How long records may run in an invocation with `remainingMs` left: all of it but a margin
 * (a tenth, at least 200 ms and at most 2 s) to answer the batch and set the retry delays.
 */
export function recordDeadlineMs(remainingMs: number): number {
  const margin = Math.min(2_000, Math.max(200, remainingMs / 10));
  return Math.max(0, remainingMs - margin);
}

/**
 * The work's result, or a transient failure if the deadline comes first. The work goes on (a
 * promise cannot be stopped), and its idempotency lease ends with the invocation, so a retry that
 * came back at once could take the lease over and run the step a second time while the first
 * still finishes. The failure therefore asks to be retried no sooner than `leaseSeconds` (one
 * invocation's length): time for the first run to finish and store its result, which the retry
 * then finds.
 */
export async function beforeDeadline<T>(
  work: Promise<T>,
  deadlineAt: number,
  leaseSeconds = 0,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TransientError("the record did not finish before the function's deadline", {
            code: "RECORD_DEADLINE",
            details: { retryAfterSeconds: leaseSeconds },
          }),
        ),
      Math.max(0, deadlineAt - Date.now()),
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Throws once the deadline has passed. A record is given up at its deadline while its work goes
 * on, so anything that makes it start late (a slow step before it, an overslept wait, a frozen
 * Lambda environment thawed by a later invocation) must find here that it was given up, and not
 * run its step for a delivery that was already answered.
 */
export function startBeforeDeadline(deadlineAt: number, now = Date.now()): void {
  if (now >= deadlineAt) {
    throw new TransientError("no time left to start this record", { code: "RECORD_DEADLINE" });
  }
}
