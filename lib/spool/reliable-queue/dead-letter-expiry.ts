import type { Duration } from "aws-cdk-lib";
import {
  type Alarm,
  ComparisonOperator,
  type Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import type { MonitorContext } from "../runtime/resource-kind.js";
import { describeSeconds, invalid, requireDuration, secondsOf } from "../runtime/validation.js";

/**
 * Dead-letter expiry: SQS deletes a dead letter silently when the dead-letter queue's retention
 * runs out, so a letter nobody triaged is lost without a trace. These alarms watch the age of the
 * oldest dead letter and fire a margin before that happens: a warning tier first (time to triage
 * within working hours), then the page.
 */
export interface DeadLetterExpiryOptions {
  /**
   * Alarm on the age of the oldest dead letter at all (both tiers).
   * @default true
   */
  readonly deadLetterExpiry?: boolean;
  /**
   * The page: alarm when the oldest dead letter is within this margin of the dead-letter queue's
   * retention, i.e. its age exceeds retention − margin.
   * @default - a quarter of the DLQ's retention, at most 3 days (3 days for the 14-day default:
   * a long weekend still leaves a working day to act)
   */
  readonly deadLetterExpiryMargin?: Duration;
  /**
   * The warning tier, earlier: alarm `<name>-dead-letter-expiry-warning` when the oldest dead
   * letter is within this margin of the retention. Must be longer than `deadLetterExpiryMargin`.
   * @default - half the DLQ's retention, at most 7 days (7 days for the 14-day default: a working
   * week to triage before anyone is paged)
   */
  readonly deadLetterExpiryWarningMargin?: Duration;
  /**
   * Create the warning tier (the page stays unless `deadLetterExpiry` is false).
   * @default true
   */
  readonly deadLetterExpiryWarning?: boolean;
}

const DAY = 86_400;
/** The longest retention SQS allows, and so the longest margin that can make sense. */
const MAX_RETENTION = 14 * DAY;

/** The margins' default: a share of the retention, capped, so short test retentions still work. */
export function defaultExpiryMargins(retentionSeconds: number) {
  return {
    page: Math.min(3 * DAY, Math.floor(retentionSeconds / 4)),
    warning: Math.min(7 * DAY, Math.floor(retentionSeconds / 2)),
  };
}

/** Checks the margins alone (stack-wide defaults, where no retention is known yet). */
export function validateExpiryMargins(
  scope: IConstruct | undefined,
  prefix: string,
  options: DeadLetterExpiryOptions,
): void {
  requireDuration(
    scope,
    `${prefix}deadLetterExpiryMargin`,
    options.deadLetterExpiryMargin,
    60,
    MAX_RETENTION,
  );
  requireDuration(
    scope,
    `${prefix}deadLetterExpiryWarningMargin`,
    options.deadLetterExpiryWarningMargin,
    60,
    MAX_RETENTION,
  );
}

/**
 * Adds the expiry alarms of one dead-letter queue whose retention is `retention`. A margin given
 * that does not fit inside the retention (or a warning margin no longer than the page's) fails
 * synthesis, naming the queue, the prop and the value.
 */
export function addDeadLetterExpiryAlarms(
  resource: IConstruct,
  context: MonitorContext,
  options: DeadLetterExpiryOptions & { readonly queueName: string },
  oldest: Metric,
  retention: Duration,
): Alarm[] {
  if (options.deadLetterExpiry === false) return [];
  const retentionSeconds = secondsOf(retention);
  // An unresolved retention (a token) gives nothing to measure against.
  if (retentionSeconds === undefined) return [];
  const defaults = defaultExpiryMargins(retentionSeconds);
  const page = secondsOf(options.deadLetterExpiryMargin) ?? defaults.page;
  const warning = secondsOf(options.deadLetterExpiryWarningMargin) ?? defaults.warning;
  const retentionText = describeSeconds(retentionSeconds);
  if (page >= retentionSeconds) {
    invalid(
      resource,
      `deadLetterExpiryMargin must be shorter than the dead-letter queue's retention (${retentionText}), got ${describeSeconds(page)}`,
    );
  }
  const withWarning = options.deadLetterExpiryWarning !== false;
  if (withWarning && warning >= retentionSeconds) {
    invalid(
      resource,
      `deadLetterExpiryWarningMargin must be shorter than the dead-letter queue's retention (${retentionText}), got ${describeSeconds(warning)}`,
    );
  }
  if (withWarning && warning <= page) {
    invalid(
      resource,
      `deadLetterExpiryWarningMargin must be longer than deadLetterExpiryMargin (${describeSeconds(page)}), got ${describeSeconds(warning)}`,
    );
  }
  const alarm = (signal: string, margin: number, severity: string, action: string) =>
    context.addAlarm(signal, {
      alarmDescription: `${severity}: the oldest dead letter in ${options.queueName} expires in less than ${describeSeconds(margin)} (SQS deletes it at the queue's retention, ${retentionText}). ${action} On a standard queue a letter moved by the redrive policy keeps its first enqueue time, so it may expire sooner by the time it spent in the source queue.`,
      metric: oldest,
      threshold: retentionSeconds - margin,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No data means an empty (or idle) queue: nothing to expire.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      evaluationPeriods: 1,
    });
  const alarms: Alarm[] = [];
  if (withWarning) {
    alarms.push(
      alarm(
        "dead-letter-expiry-warning",
        warning,
        "WARNING (triage within working hours)",
        "Triage now: `spool dlq list`, then replay, archive or discard.",
      ),
    );
  }
  alarms.push(
    alarm(
      "dead-letter-expiry",
      page,
      "URGENT",
      "Archive what you cannot replay before it is lost: `spool dlq archive <queue> --to <dir>`.",
    ),
  );
  return alarms;
}
