export { BUNDLE_CACHE_CONTEXT } from "./bundle-cache.js";
export {
  ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS,
  acknowledgeDeadLetterQueue,
  acknowledgeSynchronousInvocation,
  acknowledgeWildcardResources,
  onlyActions,
  RESOURCELESS_ACTIONS_RULE,
  type WildcardRule,
} from "./nag.js";
export {
  BUNDLE_METAFILE_CONTEXT,
  type SpoolBundlingOptions,
  SpoolFunction,
  type SpoolFunctionProps,
  spoolBundling,
} from "./spool-function.js";
