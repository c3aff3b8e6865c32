import { search } from "@aws-lambda-powertools/jmespath";
import { ORDER_ERROR_CODES } from "../../../lambdas/error-codes.js";
import { SPOOL_ERROR_CODES } from "../../../lib/spool/runtime/error-codes.js";
import type { DeadLetter } from "./dead-letters.js";
import { SpoolCliError } from "./errors.js";
import { LISTED_REASONS } from "./reasons.js";

/** Which dead letters a replay takes. Every given criterion must hold (AND); lists are OR. */
export interface DeadLetterFilter {
  readonly errorClasses?: readonly string[];
  readonly errorCodes?: readonly string[];
  readonly reasons?: readonly string[];
  /** Message attributes that must be present with exactly this string value. */
  readonly attributes?: readonly { readonly name: string; readonly value: string }[];
  /** Dead-lettered at least this long ago. */
  readonly olderThanMs?: number;
  /** Dead-lettered at most this long ago. */
  readonly newerThanMs?: number;
  /** A JMESPath expression on the JSON body; the message matches when it yields a truthy value. */
  readonly where?: string;
  /** Dead-letter ids or original message ids (or unique prefixes of at least 8 characters). */
  readonly ids?: readonly string[];
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "2h", "7d", "500ms" → milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) {
    throw new SpoolCliError(
      `${option} must be a duration like 30s, 15m, 2h or 7d, got "${text}"`,
      2,
    );
  }
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}

/** "name=value" → { name, value }. */
export function parseAttributeFilter(text: string): { name: string; value: string } {
  const at = text.indexOf("=");
  if (at <= 0) {
    throw new SpoolCliError(`--attribute must be name=value, got "${text}"`, 2);
  }
  return { name: text.slice(0, at), value: text.slice(at + 1) };
}

/**
 * The codes a dead letter can carry: the toolkit's and the example's catalogues (the codes are a
 * public contract, listed in docs/operations.md). A code outside them would match nothing.
 */
export const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set([
  ...Object.keys(SPOOL_ERROR_CODES),
  ...Object.keys(ORDER_ERROR_CODES),
]);

/** Case, `_` and `-` apart: how an operator most often misspells a code or a reason. */
const loosely = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, "");

function didYouMean(value: string, known: Iterable<string>): string {
  for (const candidate of known) {
    if (loosely(candidate) === loosely(value)) return ` (did you mean "${candidate}"?)`;
  }
  return "";
}

/**
 * Refuses an `--error-code` outside the catalogue: a filter that silently matches nothing
 * would report "nothing to replay" while the dead letters sit there.
 */
export function assertKnownErrorCodes(codes: readonly string[]): void {
  for (const code of codes) {
    if (KNOWN_ERROR_CODES.has(code)) continue;
    throw new SpoolCliError(
      `--error-code "${code}" is not a known error code${didYouMean(code, KNOWN_ERROR_CODES)}; see the catalogue in docs/operations.md#error-codes-and-dead-letter-reasons`,
      2,
    );
  }
}

/** Refuses a `--reason` that no dead letter can have, naming the ones it can. */
export function assertKnownReasons(reasons: readonly string[]): void {
  const known = Object.keys(LISTED_REASONS);
  for (const reason of reasons) {
    if (known.includes(reason)) continue;
    throw new SpoolCliError(
      `--reason must be one of ${known.join(", ")}, got "${reason}"${didYouMean(reason, known)}`,
      2,
    );
  }
}

/** Fails early, with the parser's reason, on an expression JMESPath cannot parse. */
export function assertJmesPath(expression: string): void {
  try {
    search(expression, {});
  } catch (error) {
    const name = (error as Error).name;
    // Evaluating against {} can only fail on types or arity; those are not syntax errors.
    if (/Lexer|Parse|Incomplete|EmptyExpression|UnknownFunction/.test(name)) {
      throw new SpoolCliError(
        `--where is not a valid JMESPath expression: ${(error as Error).message}`,
        2,
      );
    }
  }
}

export function isEmptyFilter(filter: DeadLetterFilter): boolean {
  return (
    !filter.errorClasses?.length &&
    !filter.errorCodes?.length &&
    !filter.reasons?.length &&
    !filter.attributes?.length &&
    filter.olderThanMs === undefined &&
    filter.newerThanMs === undefined &&
    filter.where === undefined &&
    !filter.ids?.length
  );
}

function truthy(value: unknown): boolean {
  // JMESPath truthiness: false, null, "", [] and {} are false.
  if (value === null || value === undefined || value === false || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

function idMatches(letter: DeadLetter, wanted: string): boolean {
  if (letter.id === wanted || letter.originalId === wanted) return true;
  return (
    wanted.length >= 8 && (letter.id.startsWith(wanted) || letter.originalId.startsWith(wanted))
  );
}

/**
 * Whether `letter` passes `filter`; when it does not, the first criterion that failed (for a
 * dry run's "why not" column).
 */
export function matchDeadLetter(
  filter: DeadLetterFilter,
  letter: DeadLetter,
  now: Date,
): { readonly match: true } | { readonly match: false; readonly failed: string } {
  if (filter.ids?.length && !filter.ids.some((id) => idMatches(letter, id))) {
    return { match: false, failed: "id" };
  }
  if (filter.errorClasses?.length && !filter.errorClasses.includes(letter.errorClass ?? "")) {
    return { match: false, failed: "error-class" };
  }
  if (filter.errorCodes?.length && !filter.errorCodes.includes(letter.errorCode ?? "")) {
    return { match: false, failed: "error-code" };
  }
  if (filter.reasons?.length && !filter.reasons.includes(letter.reason)) {
    return { match: false, failed: "reason" };
  }
  for (const { name, value } of filter.attributes ?? []) {
    if (letter.attributes[name]?.StringValue !== value) {
      return { match: false, failed: `attribute ${name}` };
    }
  }
  const age = now.getTime() - letter.deadLetteredAt.getTime();
  if (filter.olderThanMs !== undefined && age < filter.olderThanMs) {
    return { match: false, failed: "older-than" };
  }
  if (filter.newerThanMs !== undefined && age > filter.newerThanMs) {
    return { match: false, failed: "newer-than" };
  }
  if (filter.where !== undefined) {
    let body: unknown;
    try {
      body = JSON.parse(letter.body);
    } catch {
      // A body that is not JSON has no paths to match.
      return { match: false, failed: "where (body is not JSON)" };
    }
    let result: unknown;
    try {
      result = search(filter.where, body as never);
    } catch {
      return { match: false, failed: "where" };
    }
    if (!truthy(result)) return { match: false, failed: "where" };
  }
  return { match: true };
}

/** The filter in words, for the audit record and the summary. */
export function describeFilter(filter: DeadLetterFilter): string {
  const parts: string[] = [];
  if (filter.ids?.length) parts.push(`id in [${filter.ids.join(", ")}]`);
  if (filter.errorClasses?.length) parts.push(`error class in [${filter.errorClasses.join(", ")}]`);
  if (filter.errorCodes?.length) parts.push(`error code in [${filter.errorCodes.join(", ")}]`);
  if (filter.reasons?.length) parts.push(`reason in [${filter.reasons.join(", ")}]`);
  for (const a of filter.attributes ?? []) parts.push(`attribute ${a.name} = ${a.value}`);
  if (filter.olderThanMs !== undefined) parts.push(`older than ${filter.olderThanMs / 1000} s`);
  if (filter.newerThanMs !== undefined) parts.push(`newer than ${filter.newerThanMs / 1000} s`);
  if (filter.where !== undefined) parts.push(`body matches ${filter.where}`);
  return parts.length ? parts.join(" and ") : "all dead letters";
}
