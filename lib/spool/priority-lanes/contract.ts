/**
 * What the PriorityLanes construct and its producer helper (`runtime/lanes.ts`) agree on.
 * SDK-free: the construct imports it at synth time.
 */

/** A lanes group's name and each lane's name: lower-case, so env names and labels stay plain. */
export const LANE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,29}$/;
export const LANE_NAME_RULE = "1–30 lower-case letters, digits or hyphens, starting with a letter";

/** The metadata key each lane's queue carries in the template (the CLI groups lanes by it). */
export const LANE_METADATA_KEY = "spool:lane";

/** What that metadata holds: the lanes group and this queue's lane. */
export interface LaneMetadata {
  readonly group: string;
  /** The lane's name. */
  readonly lane: string;
  /** Its place in the group, 0 = highest priority. */
  readonly rank: number;
}

function envPart(name: string): string {
  return name.toUpperCase().replace(/-/g, "_");
}

/** The variable `grantSend` writes: the group's lane names, highest first, comma-separated. */
export function lanesEnvName(group: string): string {
  return `SPOOL_LANES_${envPart(group)}`;
}

/** The variable `grantSend` writes for one lane: its queue URL. */
export function laneUrlEnvName(group: string, lane: string): string {
  return `SPOOL_LANE_${envPart(group)}_${envPart(lane)}_URL`;
}
