import { CronExpressionParser } from "cron-parser";

/**
 * Occurrences of an EventBridge Scheduler `cron(...)` or `rate(...)` expression, in its time zone.
 *
 * Needed twice: the backfill enumerates the runs a schedule would have produced in a past window,
 * and a run delivered without its `<aws.scheduler.scheduled-time>` (an emulator that does not
 * substitute it) is assigned the latest occurrence at or before the time it was sent.
 *
 * cron-parser (time-zone aware, DST handled) evaluates cron; what it does not speak is translated
 * here: Scheduler's six fields (no seconds, a year field), `?`, and day-of-week numbers 1–7 for
 * SUN–SAT (cron-parser counts 0–6). rate() has no library: it is an anchor plus a fixed period.
 */

export type RecurringExpression =
  | {
      readonly kind: "cron";
      readonly expression: string;
      /** The five fields cron-parser evaluates, with a leading 0 for seconds. */
      readonly parserExpression: string;
      readonly years: YearFilter;
    }
  | { readonly kind: "rate"; readonly expression: string; readonly periodMs: number };

type YearFilter = (year: number) => boolean;

const RATE_UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

export class ScheduleExpressionError extends Error {
  override readonly name = "ScheduleExpressionError";
}

function yearFilter(field: string, expression: string): YearFilter {
  if (field === "*" || field === "?") return () => true;
  const parts = field.split(",").map((part) => {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    const [lowText, highText] = (range ?? "").split("-");
    const low = lowText === "*" ? 1970 : Number(lowText);
    const high = highText !== undefined ? Number(highText) : stepText !== undefined ? 2199 : low;
    if (![low, high, step].every(Number.isInteger) || step < 1 || high < low) {
      throw new ScheduleExpressionError(`cannot read the year field "${field}" of ${expression}`);
    }
    return { low, high, step };
  });
  return (year) =>
    parts.some(({ low, high, step }) => year >= low && year <= high && (year - low) % step === 0);
}

/** Scheduler day-of-week numbers (1 = SUN … 7 = SAT) → cron-parser's (0 = SUN … 6 = SAT). */
function dayOfWeekField(field: string): string {
  if (field === "?") return "*";
  return field.replace(/(^|[,\-#/])([1-7])(?=$|[,\-#L/])/g, (_m, sep: string, day: string) => {
    // After "/" or "#" the number is a step or an ordinal, not a day.
    if (sep === "/" || sep === "#") return `${sep}${day}`;
    return `${sep}${Number(day) - 1}`;
  });
}

/** Parses a Scheduler cron() or rate() expression; throws ScheduleExpressionError naming it. */
export function parseRecurringExpression(expression: string): RecurringExpression {
  const text = expression.trim();
  const rate = /^rate\((\d+)\s+(minutes?|hours?|days?)\)$/.exec(text);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    if (value < 1) throw new ScheduleExpressionError(`rate must be positive, got ${expression}`);
    if ((value === 1) !== !unit.endsWith("s")) {
      throw new ScheduleExpressionError(
        `rate(${value} ${unit}) needs the ${value === 1 ? "singular" : "plural"} unit, got ${expression}`,
      );
    }
    return { kind: "rate", expression: text, periodMs: value * (RATE_UNITS[unit] ?? 0) };
  }
  const cron = /^cron\((.+)\)$/.exec(text);
  if (cron) {
    const fields = (cron[1] as string).trim().split(/\s+/);
    if (fields.length !== 6) {
      throw new ScheduleExpressionError(
        `cron() needs six fields (minutes hours day-of-month month day-of-week year), got ${expression}`,
      );
    }
    const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
      throw new ScheduleExpressionError(
        `cron() needs "?" in exactly one of day-of-month and day-of-week, got ${expression}`,
      );
    }
    const parserExpression = [
      "0",
      minutes,
      hours,
      dayOfMonth === "?" ? "*" : dayOfMonth,
      month,
      dayOfWeekField(dayOfWeek),
    ].join(" ");
    try {
      CronExpressionParser.parse(parserExpression, { tz: "UTC" });
    } catch (error) {
      throw new ScheduleExpressionError(`cannot read ${expression}: ${(error as Error).message}`);
    }
    return { kind: "cron", expression: text, parserExpression, years: yearFilter(year, text) };
  }
  throw new ScheduleExpressionError(
    `a recurring schedule needs cron(...) or rate(...), got ${expression}`,
  );
}

export interface OccurrenceOptions {
  /** IANA time zone the cron fields are read in. */
  readonly timeZone: string;
  /** rate() only: the first occurrence (the schedule's start date, or its creation time). */
  readonly anchor?: Date;
}

/** Safety valve: a window that would produce more runs than this is refused, not enumerated. */
export const MAX_OCCURRENCES = 10_000;

function requireAnchor(expression: RecurringExpression, options: OccurrenceOptions): number {
  if (!options.anchor || Number.isNaN(options.anchor.getTime())) {
    throw new ScheduleExpressionError(
      `${expression.expression} needs an anchor (the schedule's start or creation time)`,
    );
  }
  return options.anchor.getTime();
}

/** Every occurrence in the half-open window [from, to), oldest first. */
export function occurrencesBetween(
  expression: RecurringExpression,
  from: Date,
  to: Date,
  options: OccurrenceOptions,
): Date[] {
  if (!(from.getTime() < to.getTime())) return [];
  const out: Date[] = [];
  if (expression.kind === "rate") {
    const anchor = requireAnchor(expression, options);
    const period = expression.periodMs;
    let k = Math.max(0, Math.ceil((from.getTime() - anchor) / period));
    for (let t = anchor + k * period; t < to.getTime(); k++, t = anchor + k * period) {
      if (out.length >= MAX_OCCURRENCES) throw tooMany(expression, from, to);
      out.push(new Date(t));
    }
    return out;
  }
  // cron-parser starts strictly after currentDate; start one millisecond early to include `from`.
  const iterator = CronExpressionParser.parse(expression.parserExpression, {
    tz: options.timeZone,
    currentDate: new Date(from.getTime() - 1),
    endDate: to,
  });
  while (iterator.hasNext()) {
    const next = iterator.next().toDate();
    if (next.getTime() >= to.getTime()) break;
    if (!expression.years(yearIn(next, options.timeZone))) continue;
    if (out.length >= MAX_OCCURRENCES) throw tooMany(expression, from, to);
    out.push(next);
  }
  return out;
}

/** The latest occurrence at or before `at`, looking back at most `lookBackMs`. */
export function latestOccurrenceAtOrBefore(
  expression: RecurringExpression,
  at: Date,
  options: OccurrenceOptions,
  lookBackMs = 400 * 86_400_000,
): Date | undefined {
  if (expression.kind === "rate") {
    const anchor = requireAnchor(expression, options);
    if (at.getTime() < anchor) return undefined;
    const k = Math.floor((at.getTime() - anchor) / expression.periodMs);
    return new Date(anchor + k * expression.periodMs);
  }
  const iterator = CronExpressionParser.parse(expression.parserExpression, {
    tz: options.timeZone,
    currentDate: new Date(at.getTime() + 1),
    startDate: new Date(at.getTime() - lookBackMs),
  });
  while (iterator.hasPrev()) {
    const previous = iterator.prev().toDate();
    if (previous.getTime() > at.getTime()) continue;
    if (expression.years(yearIn(previous, options.timeZone))) return previous;
  }
  return undefined;
}

/**
 * The first occurrence strictly after `at`, looking ahead at most `lookAheadMs`: a schedule's next
 * run (the operator CLI shows it; the Scheduler itself does not report one).
 */
export function nextOccurrenceAfter(
  expression: RecurringExpression,
  at: Date,
  options: OccurrenceOptions,
  lookAheadMs = 400 * 86_400_000,
): Date | undefined {
  if (expression.kind === "rate") {
    const anchor = requireAnchor(expression, options);
    if (at.getTime() < anchor) return new Date(anchor);
    const k = Math.floor((at.getTime() - anchor) / expression.periodMs) + 1;
    return new Date(anchor + k * expression.periodMs);
  }
  const iterator = CronExpressionParser.parse(expression.parserExpression, {
    tz: options.timeZone,
    currentDate: at,
    endDate: new Date(at.getTime() + lookAheadMs),
  });
  while (iterator.hasNext()) {
    const next = iterator.next().toDate();
    if (next.getTime() <= at.getTime()) continue;
    if (expression.years(yearIn(next, options.timeZone))) return next;
  }
  return undefined;
}

function yearIn(date: Date, timeZone: string): number {
  return Number(new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric" }).format(date));
}

function tooMany(expression: RecurringExpression, from: Date, to: Date) {
  return new ScheduleExpressionError(
    `${expression.expression} has more than ${MAX_OCCURRENCES} occurrences from ${from.toISOString()} to ${to.toISOString()}; use a shorter window`,
  );
}

/** True for an IANA time zone name the runtime knows (what Scheduler accepts). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}
