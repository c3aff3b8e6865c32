/** Every path of a template: the data paths it wires, then the paths that must stay refused. */
import type { AccessPath } from "./access-path.js";
import {
  alarmActions,
  eventSourceMappings,
  functionDestinations,
  redrives,
  ruleTargets,
  scheduleTargets,
} from "./data-paths.js";
import { grantPaths } from "./grant-paths.js";
import { rateLimitBuckets } from "./rate-limit-buckets.js";
import { refusals } from "./refusals.js";
import { stateMachineTasks } from "./state-machine-tasks.js";
import type { TemplateModel } from "./template-model.js";

export function accessPaths(model: TemplateModel): AccessPath[] {
  const allowed = [
    ...eventSourceMappings(model),
    ...ruleTargets(model),
    ...scheduleTargets(model),
    ...alarmActions(model),
    ...functionDestinations(model),
    ...redrives(model),
    ...stateMachineTasks(model),
    ...grantPaths(model),
    ...rateLimitBuckets(model).filter((p) => p.expect === "allowed"),
  ];
  const bucketRefusals = rateLimitBuckets(model).filter((p) => p.expect === "denied");
  return [...allowed, ...refusals(model, allowed), ...bucketRefusals];
}
