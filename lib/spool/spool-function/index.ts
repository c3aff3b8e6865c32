export {
  ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS,
  acknowledgeDeadLetterQueue,
  acknowledgeSynchronousInvocation,
  acknowledgeWildcardResources,
  onlyActions,
  RESOURCELESS_ACTIONS_RULE,
  type WildcardRule,
} from "./nag.js";
export { SpoolFunction, type SpoolFunctionProps, spoolBundling } from "./spool-function.js";
