import { DEAD_LETTER_REASONS } from "../../../lib/spool/runtime/error-codes.js";

/**
 * The reason `spool dlq` gives a dead letter: the consumer's reason from its metadata, or, for one
 * without metadata, how it got there. `--reason` accepts exactly these. Apart from
 * dead-letters.ts (which reads them from SQS) because the option's help lists them, and help
 * loads no SDK.
 */
export const LISTED_REASONS = {
  ...DEAD_LETTER_REASONS,
  redrive: "moved by the queue's redrive policy, without Spool's metadata (a crash or a timeout)",
  unknown: "neither Spool's metadata nor a redrive source: sent to the dead-letter queue by hand",
} as const;

export type ListedReason = keyof typeof LISTED_REASONS;
