/**
 * What the PayloadStore construct and the code that writes or reads its objects agree on.
 * SDK-free: the names live in the toolkit's payload-pointer.ts (producers and consumers use them
 * there), and are re-exported here for the construct and for a team's own handlers.
 */
export {
  DEFAULT_OFFLOAD_THRESHOLD_BYTES,
  LEGACY_PAYLOAD_SIZE_ATTRIBUTE,
  LEGACY_POINTER_CLASS,
  PAYLOAD_BUCKET_ENV,
  PAYLOAD_KEY_PREFIX,
  PAYLOAD_SIZE_ATTRIBUTE,
  POINTER_CLASS,
} from "../runtime/payload-pointer.js";

/** S3 lifecycle expiration counts whole days. */
export const SECONDS_PER_DAY = 86_400;

/**
 * Days an object outlives the longest retention + dead-letter retention of the queues it serves,
 * when nothing says otherwise: room for a dead letter replayed near the end of its retention,
 * which starts a new stay on the source queue (see the README, "How long objects live").
 */
export const DEFAULT_REPLAY_MARGIN_DAYS = 7;
