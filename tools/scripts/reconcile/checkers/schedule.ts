import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  SchedulerClient,
  UpdateScheduleCommand,
} from "@aws-sdk/client-scheduler";
import type { Check, Props, ResourceChecker } from "../check.js";

/**
 * EventBridge Scheduler schedules: MiniStack's CloudFormation keeps only the expression, window,
 * target, group, state and description, so the time zone, start and end dates and the action
 * after completion are checked here and restored with UpdateSchedule (which replaces the whole
 * schedule, so the fix sends what GetSchedule returned with the declared values on top).
 */
const SCHEDULE_FIELDS = [
  "ScheduleExpression",
  "ScheduleExpressionTimezone",
  "StartDate",
  "EndDate",
  "ActionAfterCompletion",
  "FlexibleTimeWindow",
  "State",
] as const;
const SCHEDULE_TARGET_FIELDS = ["RetryPolicy", "DeadLetterConfig", "Input"] as const;

/** What a field reads back as when the template leaves it out (AWS's defaults). */
const SCHEDULE_DEFAULTS: Record<string, unknown> = {
  ScheduleExpressionTimezone: "UTC",
  ActionAfterCompletion: "NONE",
  State: "ENABLED",
};

function scheduleDate(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

function scheduleChecks(scheduler: SchedulerClient, props: Props): Check[] {
  const Name = String(props.Name);
  const GroupName = props.GroupName === undefined ? "default" : String(props.GroupName);
  const read = () => scheduler.send(new GetScheduleCommand({ Name, GroupName }));
  const observedField = (s: GetScheduleCommandOutput, field: string): unknown => {
    const value =
      field in SCHEDULE_DEFAULTS || SCHEDULE_FIELDS.includes(field as never)
        ? (s as unknown as Record<string, unknown>)[field]
        : (s.Target as Record<string, unknown> | undefined)?.[field];
    return field.endsWith("Date") ? scheduleDate(value) : value;
  };
  const update = async (field: string, declared: unknown) => {
    const current = await read();
    const target = { ...current.Target } as Record<string, unknown>;
    const top: Record<string, unknown> = {};
    for (const f of SCHEDULE_FIELDS) {
      const value = (current as unknown as Record<string, unknown>)[f];
      if (value !== undefined) top[f] = value;
    }
    if ((SCHEDULE_TARGET_FIELDS as readonly string[]).includes(field)) target[field] = declared;
    else top[field] = field.endsWith("Date") ? new Date(String(declared)) : declared;
    return scheduler.send(
      new UpdateScheduleCommand({
        Name,
        GroupName,
        ...(current.Description ? { Description: current.Description } : {}),
        ...(current.KmsKeyArn ? { KmsKeyArn: current.KmsKeyArn } : {}),
        ...(top as object),
        Target: target as never,
      } as never),
    );
  };
  const checks: Check[] = [];
  for (const field of [...SCHEDULE_FIELDS, ...SCHEDULE_TARGET_FIELDS]) {
    const raw = (SCHEDULE_TARGET_FIELDS as readonly string[]).includes(field)
      ? (props.Target as Record<string, unknown> | undefined)?.[field]
      : props[field];
    const declared = raw ?? SCHEDULE_DEFAULTS[field];
    if (declared === undefined) continue;
    const value = field.endsWith("Date") ? scheduleDate(declared) : declared;
    checks.push({
      property: (SCHEDULE_TARGET_FIELDS as readonly string[]).includes(field)
        ? `Target.${field}`
        : field,
      declared: value,
      observe: async () => observedField(await read(), field),
      fix: () => update(field, value),
      ...(field === "ScheduleExpressionTimezone"
        ? { noteWhenFixed: "stored; MiniStack still evaluates cron() and at() in UTC" }
        : {}),
    });
  }
  return checks;
}

export const schedule: ResourceChecker = {
  type: "AWS::Scheduler::Schedule",
  connect: (config) => {
    const scheduler = new SchedulerClient(config);
    // A schedule without a declared Name gets the physical id CloudFormation gave it.
    return (id, props) => scheduleChecks(scheduler, { ...props, Name: props.Name ?? id });
  },
};
