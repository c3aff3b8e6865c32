import { type Duration, Token } from "aws-cdk-lib";
import type { ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import type { IConstruct } from "constructs";
import {
  invalid,
  requireInteger,
  requireName,
  requirePattern,
  requireSeconds,
  secondsOf,
} from "../runtime/validation.js";
import { JOB_NAME_PATTERN } from "./contract.js";
import {
  isKnownTimeZone,
  parseRecurringExpression,
  ScheduleExpressionError,
} from "./schedule-expression.js";

/** The props a RecurringJob validates as given (a structural subset of RecurringJobProps). */
export interface RecurringJobPropsToValidate {
  readonly jobName: string;
  readonly schedule: ScheduleExpression;
  readonly flexibleWindow?: Duration;
  readonly scheduleName?: string;
}

/** The props a RecurringJob validates with their defaults filled in. */
export interface ResolvedRecurringJobProps {
  readonly maxLateness: Duration;
  readonly maxRunDuration: Duration;
  readonly runRetention: Duration;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly timeZone: string;
}

/**
 * Refuses props the Scheduler would refuse at deployment, or that would skip or lose runs,
 * naming the job's construct path, the prop and the value.
 */
export function validateRecurringJobProps(
  scope: IConstruct,
  props: RecurringJobPropsToValidate,
  r: ResolvedRecurringJobProps,
): void {
  requirePattern(
    scope,
    "jobName",
    props.jobName,
    JOB_NAME_PATTERN,
    "1–64 letters, digits, hyphens, underscores or dots",
  );
  requireName(scope, "scheduleName", props.scheduleName, "schedule");
  const expression = props.schedule.expressionString;
  if (!Token.isUnresolved(expression)) {
    try {
      parseRecurringExpression(expression);
    } catch (error) {
      if (error instanceof ScheduleExpressionError) {
        invalid(scope, `schedule must be a cron() or rate() expression: ${error.message}`);
      }
      throw error;
    }
  }
  if (!isKnownTimeZone(r.timeZone)) {
    invalid(scope, `schedule's timeZone must be an IANA time zone, got "${r.timeZone}"`);
  }
  const lateness = requireSeconds(
    scope,
    "maxLateness",
    r.maxLateness,
    60,
    Number.POSITIVE_INFINITY,
    "at least 60 s",
  );
  const window = requireSeconds(
    scope,
    "flexibleWindow",
    props.flexibleWindow,
    60,
    86_400,
    "from 1 minute to 24 hours",
  );
  if (window !== undefined && lateness !== undefined && window >= lateness) {
    invalid(
      scope,
      `flexibleWindow must be shorter than maxLateness (${lateness} s), or runs started late in the window are skipped; got ${window} s`,
    );
  }
  requireSeconds(scope, "maxRunDuration", r.maxRunDuration, 1, 43_200, "from 1 second to 12 hours");
  const retention = secondsOf(r.runRetention);
  if (retention !== undefined && lateness !== undefined && retention <= lateness) {
    invalid(
      scope,
      `runRetention must be longer than maxLateness (${lateness} s), got ${retention} s`,
    );
  }
  requireInteger(scope, "retryAttempts", r.retryAttempts, 0, 185);
  requireSeconds(scope, "maxEventAge", r.maxEventAge, 60, 86_400, "from 60 seconds to 24 hours");
}
