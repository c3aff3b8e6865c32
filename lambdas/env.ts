/**
 * The example handlers' own configuration, read at init through the library's env helpers: a
 * variable the stack did not write fails the function's init, naming the variable, instead of
 * an empty table name surfacing later as a DynamoDB ValidationException (read as permanent, so
 * every message would be dead-lettered). Variables a construct writes are named by that
 * construct's contract (e.g. JOBS_TABLE_ENV, TASKS_ENV) and read where they are used.
 */
import { requireEnv } from "../lib/spool/runtime/env.js";

/** Who writes the variables below: the parts of the reference stack. */
export const SET_BY_STACK = "the reference stack (lib/example/parts)";

/** The table every example effect is written to (notifications, orders, payments, …). */
export function effectsTable(env: NodeJS.ProcessEnv = process.env): string {
  return requireEnv("EFFECTS_TABLE", SET_BY_STACK, env);
}
