import type { DeadLetter } from "./dead-letters.js";

/**
 * Why and how a letter died, as plain JSON (dates as ISO strings, unknowns as null): the part
 * `spool dlq list/show --json` and `spool dlq archive` both print, in one order.
 */
export function deadLetterFacts(letter: DeadLetter) {
  return {
    via: letter.via,
    reason: letter.reason,
    errorClass: letter.errorClass ?? null,
    errorCode: letter.errorCode ?? null,
    errorMessage: letter.errorMessage ?? null,
    attempts: letter.attempts ?? null,
    firstFailureAt: letter.firstFailureAt?.toISOString() ?? null,
    deadLetteredAt: letter.deadLetteredAt.toISOString(),
    sourceQueue: letter.sourceArn ?? null,
    correlationId: letter.correlationId ?? null,
    messageGroupId: letter.groupId ?? null,
  };
}
