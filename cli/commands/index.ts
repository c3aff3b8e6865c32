import type { SpoolCommand } from "../spool.js";
import { dlqCommand } from "./dlq.js";
import { statusCommand } from "./status.js";

/**
 * Every command group of `spool`, in help order. A capability adds its module here
 * (`jobs show`, `schedules list|cancel`, `backfill`); each registers its own subcommands and
 * reads the stack through `context.inventory()`.
 */
export const commands: readonly SpoolCommand[] = [statusCommand, dlqCommand];
