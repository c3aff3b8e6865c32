export {
  LANE_METADATA_KEY,
  LANE_NAME_PATTERN,
  type LaneMetadata,
  lanesEnvName,
  laneUrlEnvName,
} from "./contract.js";
export { priorityLanesKind } from "./monitoring.js";
export {
  type Lane,
  type LaneProducer,
  PriorityLanes,
  type PriorityLanesProps,
} from "./priority-lanes.js";
