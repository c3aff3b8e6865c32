import { lanesEnvName, laneUrlEnvName } from "../contract.js";

/**
 * The queue URL of lane `lane` of the lanes group `group`, from the environment
 * `PriorityLanes.grantSend(fn)` wrote. A lane the group does not have, or a function that was
 * never granted, is a programming error: it throws naming what exists, rather than sending the
 * work somewhere it would never be consumed.
 */
export function laneUrl(
  group: string,
  lane: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const lanes = laneNames(group, env);
  const url = lanes.includes(lane) ? env[laneUrlEnvName(group, lane)] : undefined;
  if (url === undefined) {
    throw new Error(
      `priority lanes "${group}" have no lane "${lane}"; its lanes: ${lanes.join(", ") || "none"}`,
    );
  }
  return url;
}

/**
 * The group's lane names, highest priority first. A function never granted the group has no
 * variable: that throws (naming it) rather than answering "no lanes", which a caller could take
 * for a group that is empty.
 */
export function laneNames(
  group: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const listed = env[lanesEnvName(group)];
  if (listed === undefined) {
    throw new Error(
      `no priority lanes "${group}" in this function's environment (${lanesEnvName(group)} is unset): grant it with lanes.grantSend(fn)`,
    );
  }
  return listed.split(",").filter(Boolean);
}
