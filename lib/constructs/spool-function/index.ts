export { SpoolFunction, type SpoolFunctionProps, spoolBundling } from "./spool-function.js";
