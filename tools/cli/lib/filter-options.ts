import type { Command } from "commander";
import {
  assertJmesPath,
  assertKnownErrorCodes,
  assertKnownReasons,
  type DeadLetterFilter,
  parseAttributeFilter,
  parseDuration,
} from "./filters.js";
import { collect } from "./options.js";
import { LISTED_REASONS } from "./reasons.js";

/** The filter options every `spool dlq` command that selects dead letters takes, as parsed. */
// A type, not an interface, so a command's option object (with more options) is assignable.
export type FilterOptions = {
  errorClass?: string[];
  errorCode?: string[];
  reason?: string[];
  attribute?: string[];
  olderThan?: string;
  newerThan?: string;
  where?: string;
  id?: string[];
};

/** Adds the filter options (replay, archive and discard select dead letters alike). */
export function addFilterOptions(command: Command): Command {
  return command
    .option("--error-class <class>", "only this error class (repeatable)", collect)
    .option("--error-code <code>", "only this error code, from the catalogue (repeatable)", collect)
    .option("--reason <reason>", `${Object.keys(LISTED_REASONS).join(" | ")} (repeatable)`, collect)
    .option(
      "--attribute <name=value>",
      "only with this message attribute value (repeatable)",
      collect,
    )
    .option("--older-than <duration>", "dead-lettered at least this long ago (30s, 15m, 2h, 7d)")
    .option("--newer-than <duration>", "dead-lettered at most this long ago")
    .option("--where <jmespath>", "only where this JMESPath expression on the JSON body is truthy")
    .option("--id <id>", "only this dead letter (repeatable)", collect);
}

/**
 * The filter the options describe (validated; a bad value is a usage error). It takes a command's
 * whole option object and reads only the filter options in it.
 */
export function filterFromOptions(
  options: FilterOptions & { readonly [other: string]: unknown },
): DeadLetterFilter {
  if (options.where !== undefined) assertJmesPath(options.where);
  assertKnownErrorCodes(options.errorCode ?? []);
  assertKnownReasons(options.reason ?? []);
  return {
    ...(options.errorClass?.length ? { errorClasses: options.errorClass } : {}),
    ...(options.errorCode?.length ? { errorCodes: options.errorCode } : {}),
    ...(options.reason?.length ? { reasons: options.reason } : {}),
    ...(options.attribute?.length
      ? { attributes: options.attribute.map(parseAttributeFilter) }
      : {}),
    ...(options.olderThan !== undefined
      ? { olderThanMs: parseDuration(options.olderThan, "--older-than") }
      : {}),
    ...(options.newerThan !== undefined
      ? { newerThanMs: parseDuration(options.newerThan, "--newer-than") }
      : {}),
    ...(options.where !== undefined ? { where: options.where } : {}),
    ...(options.id?.length ? { ids: options.id } : {}),
  };
}
