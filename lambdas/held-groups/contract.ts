/**
 * What the held-groups test consumer and its emulator test share. SDK-free.
 */

/** Its consumerName: its holds are `held-groups#group-hold#<group>` in the idempotency table. */
export const HELD_GROUPS_CONSUMER = "held-groups";

/** One item per group of a run: the sequence numbers applied, in the order they were applied. */
export function heldGroupKey(runId: string, group: string) {
  return { pk: `${HELD_GROUPS_CONSUMER}#${runId}`, sk: `group#${group}` };
}

/**
 * The run's fault switch: while its `failing` attribute is `"<group>#<seq>"`, that message fails
 * permanently (the test turns it off before replaying). Its sort key cannot be a group's.
 */
export function heldSwitchKey(runId: string) {
  return { pk: `${HELD_GROUPS_CONSUMER}#${runId}`, sk: "#switch" };
}

export function failingValue(group: string, seq: number): string {
  return `${group}#${seq}`;
}
