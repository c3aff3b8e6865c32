/**
 * The names that switch fault injection on, shared by SpoolFunction (which decides at synth what
 * a bundle holds) and faults.ts (which reads them in the function). SDK-free: synth-time code
 * imports it.
 */

/** Set to FAULT_INJECTION_ENABLED in a test deployment's function environment. */
export const FAULT_INJECTION_ENV = "SPOOL_FAULT_INJECTION";
export const FAULT_INJECTION_ENABLED = "enabled";

/**
 * What esbuild's `define` replaces with `"false"` in a bundle built without fault injection
 * (spoolBundling): faults.ts compares `process.env.SPOOL_FAULT_INJECTION_BUNDLED` with it, so the
 * comparison folds to a constant and the injector is dropped from the bundle. Outside a bundle
 * (unit tests, tools) the variable is unset and the environment alone decides.
 */
export const FAULTS_BUNDLED_DEFINE = "process.env.SPOOL_FAULT_INJECTION_BUNDLED";
