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

/** The work's result, or a transient failure if the deadline comes first (the work goes on). */
export async function beforeDeadline<T>(work: Promise<T>, deadlineAt: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TransientError("the record did not finish before the function's deadline", {
            code: "RECORD_DEADLINE",
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
