/**
 * The names a consumer's group hold (group-hold.ts) shares with synth-time code and tools: its
 * metrics (monitoring alarms on them) and its item keys (the CLI lists holds). SDK-free.
 */

/** The metrics a consumer with group holds publishes (EMF, the consumer's dimensions). */
export const GROUP_HOLD_METRICS = {
  /** A group's hold started (a record of the group was dead-lettered). */
  held: "GroupHeld",
  /** A record dead-lettered behind its held group's head (GROUP_HELD). */
  parked: "GroupHoldParked",
  /** A hold released: the head and everything parked behind it were replayed and applied. */
  released: "GroupHoldReleased",
} as const;

/** The prefix of a consumer's hold items in its idempotency table. */
export function groupHoldPrefix(consumerName: string): string {
  return `${consumerName}#group-hold#`;
}

/** The item key of a group's hold. */
export function groupHoldKey(consumerName: string, group: string): string {
  return `${groupHoldPrefix(consumerName)}${group}`;
}
