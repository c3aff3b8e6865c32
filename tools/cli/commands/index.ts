import type { SpoolCommand } from "../spool.js";
import { addCommand } from "./add.js";
import { backfillCommand } from "./backfill.js";
import { consumersCommand } from "./consumers.js";
import { dlqCommand } from "./dlq.js";
import { eventsCommand } from "./events.js";
import { jobsCommand } from "./jobs.js";
import { schedulesCommand } from "./schedules.js";
import { statusCommand } from "./status.js";

/**
 * Every command group of `spool`, in help order. A capability adds its module here; each
 * registers its own subcommands and reads the stack through `context.inventory()`.
 */
export const commands: readonly SpoolCommand[] = [
  statusCommand,
  dlqCommand,
  consumersCommand,
  jobsCommand,
  schedulesCommand,
  backfillCommand,
  eventsCommand,
  addCommand,
];
