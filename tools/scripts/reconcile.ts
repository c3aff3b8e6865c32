/**
 * Drift reconciler for the local emulator.
 *
 * An emulator's CloudFormation may accept a template yet leave parts of it out (MiniStack has
 * dropped SQS redrive policies, DynamoDB TTL and an SNS topic's KMS key). After each local deploy this compares what the
 * synthesized template declares with what the emulator's service APIs report, fixes what those
 * APIs can fix, re-reads to confirm, and reports every gap, fixed or not. It is both our
 * workaround and our conformance report: nothing it finds is hidden.
 *
 * Emulator only: it refuses any endpoint that is not on this machine.
 */

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CloudFormationClient,
  paginateListStackResources,
  type StackResourceSummary,
} from "@aws-sdk/client-cloudformation";
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
} from "@aws-sdk/client-cloudwatch";
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from "@aws-sdk/client-eventbridge";
import {
  GetEventSourceMappingCommand,
  type GetEventSourceMappingCommandOutput,
  LambdaClient,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  SchedulerClient,
  UpdateScheduleCommand,
} from "@aws-sdk/client-scheduler";
import {
  DescribeStateMachineCommand,
  type LogLevel,
  SFNClient,
  UpdateStateMachineCommand,
} from "@aws-sdk/client-sfn";
import {
  GetTopicAttributesCommand,
  SetTopicAttributesCommand,
  SNSClient,
} from "@aws-sdk/client-sns";
import {
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { localClientConfig, STACK_NAME } from "./lib/local-cloud.js";

export type GapAction = "fixed" | "not-fixable" | "fix-failed";

export interface Gap {
  readonly logicalId: string;
  readonly type: string;
  readonly property: string;
  readonly declared: unknown;
  readonly observed: unknown;
  readonly action: GapAction;
  readonly note?: string;
}

export interface ReconcileReport {
  readonly stack: string;
  readonly checked: number;
  readonly gaps: Gap[];
  /** Resource types in the template this reconciler does not inspect. */
  readonly notInspected: Record<string, number>;
}

type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};

interface Check {
  readonly property: string;
  readonly declared: unknown;
  readonly observe: () => Promise<unknown>;
  /** Absent when the service offers no API to change the property after creation. */
  readonly fix?: () => Promise<unknown>;
  readonly equal?: (declared: unknown, observed: unknown) => boolean;
  /** Said with a successful fix: what the emulator still does not honour. */
  readonly noteWhenFixed?: string;
  /** Why there is no fix, when the generic reason does not apply. */
  readonly unfixable?: string;
}

// ---------------------------------------------------------------------------------------------
// Resolving the template's intrinsics against the deployed stack

class Resolver {
  constructor(
    private readonly physical: Map<string, StackResourceSummary>,
    private readonly attributes: (logicalId: string, attribute: string) => Promise<unknown>,
    private readonly pseudo: Record<string, string>,
  ) {}

  async resolve(value: unknown): Promise<unknown> {
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.resolve(v)));
    if (value === null || typeof value !== "object") return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0] as [string, unknown];
      if (key === "Ref") {
        const name = arg as string;
        if (name in this.pseudo) return this.pseudo[name];
        return this.physical.get(name)?.PhysicalResourceId;
      }
      if (key === "Fn::GetAtt") {
        const [logicalId, attribute] = (Array.isArray(arg) ? arg : String(arg).split(".")) as [
          string,
          string,
        ];
        return this.attributes(logicalId, attribute);
      }
      if (key === "Fn::Join") {
        const [separator, parts] = arg as [string, unknown[]];
        return ((await this.resolve(parts)) as unknown[]).join(separator);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = await this.resolve(v);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Comparison helpers

function canonical(value: unknown): unknown {
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("{")) {
      try {
        return canonical(JSON.parse(trimmed));
      } catch {
        return value;
      }
    }
    return value;
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

const sameValue = (a: unknown, b: unknown) =>
  JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

// ---------------------------------------------------------------------------------------------
// Per-type checks

const SQS_MUTABLE = new Set([
  "RedrivePolicy",
  "RedriveAllowPolicy",
  "VisibilityTimeout",
  "MessageRetentionPeriod",
  "DelaySeconds",
  "ReceiveMessageWaitTimeSeconds",
  "ContentBasedDeduplication",
  "DeduplicationScope",
  "FifoThroughputLimit",
  "SqsManagedSseEnabled",
  "KmsMasterKeyId",
]);
const SQS_CHECKED = [...SQS_MUTABLE, "FifoQueue"];

function sqsChecks(sqs: SQSClient, queueUrl: string, props: Record<string, unknown>): Check[] {
  let cache: Promise<Record<string, string>> | undefined;
  const read = () => {
    cache ??= sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }))
      .then((r) => r.Attributes ?? {});
    return cache;
  };
  return SQS_CHECKED.filter((name) => props[name] !== undefined).map((name) => {
    const declared =
      typeof props[name] === "object" ? JSON.stringify(props[name]) : String(props[name]);
    return {
      property: name,
      declared: props[name],
      observe: async () => {
        cache = undefined;
        return (await read())[name];
      },
      ...(SQS_MUTABLE.has(name)
        ? {
            fix: () =>
              sqs.send(
                new SetQueueAttributesCommand({
                  QueueUrl: queueUrl,
                  Attributes: { [name]: declared },
                }),
              ),
          }
        : {}),
    };
  });
}

function dynamoChecks(
  ddb: DynamoDBClient,
  tableName: string,
  props: Record<string, unknown>,
): Check[] {
  const checks: Check[] = [];
  const ttl = props.TimeToLiveSpecification as
    | { AttributeName?: string; Enabled?: boolean }
    | undefined;
  if (ttl) {
    checks.push({
      property: "TimeToLiveSpecification",
      declared: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled ?? false },
      observe: async () => {
        const r = await ddb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
        const d = r.TimeToLiveDescription;
        const enabled = d?.TimeToLiveStatus === "ENABLED" || d?.TimeToLiveStatus === "ENABLING";
        return { AttributeName: enabled ? d?.AttributeName : undefined, Enabled: enabled };
      },
      fix: () =>
        ddb.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: {
              AttributeName: ttl.AttributeName,
              Enabled: ttl.Enabled ?? false,
            },
          }),
        ),
    });
  }
  const stream = props.StreamSpecification as { StreamViewType?: string } | undefined;
  if (stream) {
    checks.push({
      property: "StreamSpecification",
      declared: { StreamEnabled: true, StreamViewType: stream.StreamViewType },
      observe: async () => {
        const spec = (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table
          ?.StreamSpecification;
        return {
          StreamEnabled: spec?.StreamEnabled ?? false,
          StreamViewType: spec?.StreamViewType,
        };
      },
      fix: () =>
        ddb.send(
          new UpdateTableCommand({
            TableName: tableName,
            StreamSpecification: {
              StreamEnabled: true,
              StreamViewType: stream.StreamViewType as "NEW_AND_OLD_IMAGES",
            },
          }),
        ),
    });
  }
  const pitr = props.PointInTimeRecoverySpecification as
    | { PointInTimeRecoveryEnabled?: boolean }
    | undefined;
  if (pitr) {
    const enabled = pitr.PointInTimeRecoveryEnabled ?? false;
    checks.push({
      property: "PointInTimeRecoverySpecification",
      declared: enabled,
      observe: async () => {
        const r = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
        return (
          r.ContinuousBackupsDescription?.PointInTimeRecoveryDescription
            ?.PointInTimeRecoveryStatus === "ENABLED"
        );
      },
      fix: () =>
        ddb.send(
          new UpdateContinuousBackupsCommand({
            TableName: tableName,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: enabled },
          }),
        ),
    });
  }
  if (props.BillingMode !== undefined) {
    checks.push({
      property: "BillingMode",
      declared: props.BillingMode,
      observe: async () =>
        (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table
          ?.BillingModeSummary?.BillingMode ?? "PROVISIONED",
    });
  }
  return checks;
}

function eventSourceMappingChecks(
  lambda: LambdaClient,
  uuid: string,
  props: Record<string, unknown>,
): Check[] {
  const read = () => lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
  const field = <T>(
    property: string,
    declared: unknown,
    pick: (m: GetEventSourceMappingCommandOutput) => T,
    update: Record<string, unknown>,
  ): Check => ({
    property,
    declared,
    observe: async () => pick(await read()),
    fix: () => lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, ...update })),
  });
  const checks: Check[] = [];
  if (props.BatchSize !== undefined) {
    checks.push(
      field("BatchSize", props.BatchSize, (m) => m.BatchSize, {
        BatchSize: Number(props.BatchSize),
      }),
    );
  }
  if (props.MaximumBatchingWindowInSeconds !== undefined) {
    const window = Number(props.MaximumBatchingWindowInSeconds);
    checks.push(
      field(
        "MaximumBatchingWindowInSeconds",
        window,
        (m) => m.MaximumBatchingWindowInSeconds ?? 0,
        {
          MaximumBatchingWindowInSeconds: window,
        },
      ),
    );
  }
  if (props.FunctionResponseTypes !== undefined) {
    checks.push(
      field(
        "FunctionResponseTypes",
        props.FunctionResponseTypes,
        (m) => m.FunctionResponseTypes ?? [],
        {
          FunctionResponseTypes: props.FunctionResponseTypes,
        },
      ),
    );
  }
  const scaling = props.ScalingConfig as { MaximumConcurrency?: number } | undefined;
  if (scaling?.MaximumConcurrency !== undefined) {
    checks.push(
      field(
        "ScalingConfig.MaximumConcurrency",
        scaling.MaximumConcurrency,
        (m) => m.ScalingConfig?.MaximumConcurrency,
        {
          ScalingConfig: { MaximumConcurrency: scaling.MaximumConcurrency },
        },
      ),
    );
  }
  // Stream sources (the outbox publisher): retry, age, bisect, on-failure destination, filter.
  for (const property of [
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "DestinationConfig",
    "FilterCriteria",
  ] as const) {
    if (props[property] === undefined) continue;
    checks.push(
      field(property, props[property], (m) => m[property], { [property]: props[property] }),
    );
  }
  const enabled = props.Enabled === undefined ? true : props.Enabled;
  checks.push(
    field("Enabled", enabled, (m) => m.State === "Enabled" || m.State === "Enabling", {
      Enabled: enabled,
    }),
  );
  return checks;
}

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

function scheduleChecks(scheduler: SchedulerClient, props: Record<string, unknown>): Check[] {
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

interface DeclaredLogging {
  readonly Level?: string;
  readonly IncludeExecutionData?: boolean;
  readonly Destinations?: { CloudWatchLogsLogGroup?: { LogGroupArn?: string } }[];
}

/**
 * MiniStack's CloudFormation keeps a state machine's LoggingConfiguration in the template's
 * PascalCase, which DescribeStateMachine then returns as is, so every SDK reads it as empty;
 * UpdateStateMachine stores the API's shape. TracingConfiguration it drops altogether.
 */
function stateMachineChecks(
  sfn: SFNClient,
  stateMachineArn: string,
  props: Record<string, unknown>,
): Check[] {
  const read = () => sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
  const checks: Check[] = [];
  const logging = props.LoggingConfiguration as DeclaredLogging | undefined;
  if (logging) {
    const declared = {
      Level: logging.Level ?? "OFF",
      IncludeExecutionData: logging.IncludeExecutionData ?? false,
      LogGroupArns: (logging.Destinations ?? []).map((d) => d.CloudWatchLogsLogGroup?.LogGroupArn),
    };
    checks.push({
      property: "LoggingConfiguration",
      declared,
      observe: async () => {
        const observed = (await read()).loggingConfiguration;
        return {
          Level: observed?.level,
          IncludeExecutionData: observed?.includeExecutionData,
          LogGroupArns: (observed?.destinations ?? []).map(
            (d) => d.cloudWatchLogsLogGroup?.logGroupArn,
          ),
        };
      },
      fix: () =>
        sfn.send(
          new UpdateStateMachineCommand({
            stateMachineArn,
            loggingConfiguration: {
              level: declared.Level as LogLevel,
              includeExecutionData: declared.IncludeExecutionData,
              destinations: declared.LogGroupArns.map((logGroupArn) => ({
                cloudWatchLogsLogGroup: { logGroupArn },
              })),
            },
          }),
        ),
    });
  }
  const tracing = props.TracingConfiguration as { Enabled?: boolean } | undefined;
  if (tracing) {
    checks.push({
      property: "TracingConfiguration",
      declared: tracing.Enabled ?? false,
      observe: async () => (await read()).tracingConfiguration?.enabled ?? false,
      unfixable: "the emulator keeps no tracing configuration (nothing to trace to)",
    });
  }
  return checks;
}

/** The target fields Spool relies on: where events go, in what shape, and where failures go. */
const TARGET_FIELDS = [
  "Arn",
  "Input",
  "InputPath",
  "DeadLetterConfig",
  "RetryPolicy",
  "SqsParameters",
];

function ruleChecks(
  events: EventBridgeClient,
  physicalId: string,
  props: Record<string, unknown>,
): Check[] {
  // CloudFormation names a rule on a custom bus "bus|rule"; some emulators give the bare name.
  const name = physicalId.split("|").pop() as string;
  const eventBusName = props.EventBusName as string | undefined;
  const where = { ...(eventBusName ? { EventBusName: eventBusName } : {}) };
  const checks: Check[] = [];
  if (props.EventPattern !== undefined) {
    checks.push({
      property: "EventPattern",
      declared: props.EventPattern,
      observe: async () =>
        (await events.send(new DescribeRuleCommand({ Name: name, ...where }))).EventPattern,
      fix: () =>
        events.send(
          new PutRuleCommand({
            Name: name,
            ...where,
            EventPattern: JSON.stringify(props.EventPattern),
          }),
        ),
    });
  }
  const pick = (target: Record<string, unknown> | undefined) =>
    target
      ? Object.fromEntries(
          TARGET_FIELDS.filter((f) => target[f] !== undefined).map((f) => [f, target[f]]),
        )
      : undefined;
  for (const declared of (props.Targets ?? []) as Record<string, unknown>[]) {
    checks.push({
      property: `Targets[${String(declared.Id)}]`,
      declared: pick(declared),
      observe: async () => {
        const { Targets = [] } = await events.send(
          new ListTargetsByRuleCommand({ Rule: name, ...where }),
        );
        return pick(
          Targets.find((t) => t.Id === declared.Id) as Record<string, unknown> | undefined,
        );
      },
      fix: () =>
        events.send(
          new PutTargetsCommand({ Rule: name, ...where, Targets: [declared as unknown as Target] }),
        ),
    });
  }
  return checks;
}

/** MiniStack 1.5.33's CloudFormation drops a topic's KmsMasterKeyId; SetTopicAttributes takes it. */
function snsTopicChecks(sns: SNSClient, topicArn: string, props: Record<string, unknown>): Check[] {
  if (props.KmsMasterKeyId === undefined) return [];
  return [
    {
      property: "KmsMasterKeyId",
      declared: props.KmsMasterKeyId,
      observe: async () =>
        (await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes
          ?.KmsMasterKeyId,
      fix: () =>
        sns.send(
          new SetTopicAttributesCommand({
            TopicArn: topicArn,
            AttributeName: "KmsMasterKeyId",
            AttributeValue: String(props.KmsMasterKeyId),
          }),
        ),
    },
  ];
}

const ALARM_CHECKED = [
  "MetricName",
  "Namespace",
  "Statistic",
  "Period",
  "EvaluationPeriods",
  "DatapointsToAlarm",
  "Threshold",
  "ComparisonOperator",
  "TreatMissingData",
  "Dimensions",
  "AlarmActions",
  "OKActions",
] as const;

/** An alarm is only as good as its threshold, metric and actions: check them all. */
function alarmChecks(
  cloudwatch: CloudWatchClient,
  alarmName: string,
  props: Record<string, unknown>,
): Check[] {
  // One read per alarm for all its properties, read again only after a fix.
  let cache: Promise<Record<string, unknown> | undefined> | undefined;
  const read = () => {
    cache ??= cloudwatch
      .send(new DescribeAlarmsCommand({ AlarmNames: [alarmName] }))
      .then((r) => r.MetricAlarms?.[0] as Record<string, unknown> | undefined);
    return cache;
  };
  return ALARM_CHECKED.filter((name) => props[name] !== undefined).map((name) => ({
    property: name,
    declared: props[name],
    observe: async () => (await read())?.[name],
    // PutMetricAlarm takes the template's property names and rewrites the whole alarm.
    fix: async () => {
      cache = undefined;
      await cloudwatch.send(
        new PutMetricAlarmCommand({
          ...(props as unknown as PutMetricAlarmCommandInput),
          AlarmName: alarmName,
        }),
      );
    },
  }));
}

// ---------------------------------------------------------------------------------------------

export interface ReconcileOptions {
  readonly templatePath: string;
  readonly stackName?: string;
  /** Report only; change nothing. */
  readonly dryRun?: boolean;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const config = localClientConfig(); // throws for any non-local endpoint
  const stackName = options.stackName ?? STACK_NAME;
  const template = JSON.parse(readFileSync(options.templatePath, "utf8")) as Template;
  const cfn = new CloudFormationClient(config);
  const sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
  const ddb = new DynamoDBClient(config);
  const lambda = new LambdaClient(config);
  const sfn = new SFNClient(config);
  const events = new EventBridgeClient(config);
  const sns = new SNSClient(config);
  const cloudwatch = new CloudWatchClient(config);
  const scheduler = new SchedulerClient(config);

  const physical = new Map<string, StackResourceSummary>();
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stackName })) {
    for (const r of page.StackResourceSummaries ?? [])
      if (r.LogicalResourceId) physical.set(r.LogicalResourceId, r);
  }

  const attributes = async (logicalId: string, attribute: string): Promise<unknown> => {
    const resource = template.Resources[logicalId];
    const id = physical.get(logicalId)?.PhysicalResourceId;
    if (!resource || !id) return undefined;
    if (resource.Type === "AWS::SQS::Queue") {
      if (attribute === "QueueUrl") return id;
      const attrs = (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: id, AttributeNames: ["QueueArn"] }),
        )
      ).Attributes;
      if (attribute === "Arn") return attrs?.QueueArn;
      if (attribute === "QueueName") return id.split("/").pop();
    }
    if (resource.Type === "AWS::Logs::LogGroup" && attribute === "Arn") {
      return `arn:aws:logs:${config.region}:000000000000:log-group:${id}:*`;
    }
    // Resources whose physical id is their name or ARN: the ARN follows from it.
    if (resource.Type === "AWS::Lambda::Function" && attribute === "Arn") {
      return `arn:aws:lambda:${config.region}:000000000000:function:${id}`;
    }
    if (resource.Type === "AWS::StepFunctions::StateMachine" && attribute === "Arn") return id;
    if (resource.Type === "AWS::SNS::Topic" && attribute === "TopicArn") return id;
    if (resource.Type === "AWS::Events::EventBus" && attribute === "Arn") {
      return id.startsWith("arn:")
        ? id
        : `arn:aws:events:${config.region}:000000000000:event-bus/${id}`;
    }
    if (resource.Type === "AWS::DynamoDB::Table") {
      const table = (await ddb.send(new DescribeTableCommand({ TableName: id }))).Table;
      if (attribute === "Arn") return table?.TableArn;
      if (attribute === "StreamArn") return table?.LatestStreamArn;
    }
    if (resource.Type === "AWS::KMS::Key" && attribute === "Arn") {
      return id.startsWith("arn:") ? id : `arn:aws:kms:${config.region}:000000000000:key/${id}`;
    }
    return undefined;
  };
  const resolver = new Resolver(physical, attributes, {
    "AWS::Region": config.region,
    "AWS::AccountId": "000000000000",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": stackName,
  });

  const gaps: Gap[] = [];
  const notInspected: Record<string, number> = {};
  let checked = 0;

  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const id = physical.get(logicalId)?.PhysicalResourceId;
    const props = (await resolver.resolve(resource.Properties ?? {})) as Record<string, unknown>;
    let checks: Check[];
    switch (resource.Type) {
      case "AWS::SQS::Queue":
        checks = id ? sqsChecks(sqs, id, props) : [];
        break;
      case "AWS::DynamoDB::Table":
        checks = id ? dynamoChecks(ddb, id, props) : [];
        break;
      case "AWS::Lambda::EventSourceMapping":
        checks = id ? eventSourceMappingChecks(lambda, id, props) : [];
        break;
      case "AWS::Scheduler::Schedule":
        checks = id ? scheduleChecks(scheduler, { ...props, Name: props.Name ?? id }) : [];
        break;
      case "AWS::StepFunctions::StateMachine":
        checks = id ? stateMachineChecks(sfn, id, props) : [];
        break;
      case "AWS::Events::Rule":
        checks = id ? ruleChecks(events, id, props) : [];
        break;
      case "AWS::SNS::Topic":
        checks = id ? snsTopicChecks(sns, id, props) : [];
        break;
      case "AWS::CloudWatch::Alarm":
        checks = id ? alarmChecks(cloudwatch, id, props) : [];
        break;
      default:
        notInspected[resource.Type] = (notInspected[resource.Type] ?? 0) + 1;
        continue;
    }
    if (!id) {
      gaps.push({
        logicalId,
        type: resource.Type,
        property: "(resource)",
        declared: "exists",
        observed: "missing",
        action: "not-fixable",
      });
      continue;
    }
    for (const check of checks) {
      checked++;
      const equal = check.equal ?? sameValue;
      let observed: unknown;
      try {
        observed = await check.observe();
      } catch (error) {
        observed = `(cannot read: ${(error as Error).name})`;
      }
      if (equal(check.declared, observed)) continue;
      if (!check.fix || options.dryRun) {
        gaps.push({
          logicalId,
          type: resource.Type,
          property: check.property,
          declared: check.declared,
          observed,
          action: "not-fixable",
          note: check.fix ? "dry run" : (check.unfixable ?? "no API changes this after creation"),
        });
        continue;
      }
      try {
        await check.fix();
        const after = await check.observe();
        gaps.push({
          logicalId,
          type: resource.Type,
          property: check.property,
          declared: check.declared,
          observed,
          action: equal(check.declared, after) ? "fixed" : "fix-failed",
          ...(equal(check.declared, after)
            ? check.noteWhenFixed
              ? { note: check.noteWhenFixed }
              : {}
            : { note: `still ${JSON.stringify(after)} after the fix` }),
        });
      } catch (error) {
        gaps.push({
          logicalId,
          type: resource.Type,
          property: check.property,
          declared: check.declared,
          observed,
          action: "fix-failed",
          note: `${(error as Error).name}: ${(error as Error).message}`,
        });
      }
    }
  }
  return { stack: stackName, checked, gaps, notInspected };
}

function short(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === undefined ? "(absent)" : text.length > 70 ? `${text.slice(0, 67)}...` : text;
}

export function formatReport(report: ReconcileReport): string {
  const counts = { fixed: 0, "not-fixable": 0, "fix-failed": 0 };
  for (const g of report.gaps) counts[g.action]++;
  const lines = [
    `[reconcile] ${report.stack}: ${report.checked} declared properties checked; ${report.gaps.length} gaps ` +
      `(${counts.fixed} fixed, ${counts["not-fixable"]} not fixable, ${counts["fix-failed"]} fix failed)`,
  ];
  for (const g of report.gaps) {
    lines.push(
      `  ${g.action.padEnd(11)} ${g.logicalId} ${g.property}: declared ${short(g.declared)}, emulator had ${short(g.observed)}${g.note ? ` (${g.note})` : ""}`,
    );
  }
  const skipped = Object.entries(report.notInspected)
    .map(([type, n]) => `${type} x${n}`)
    .join(", ");
  if (skipped) lines.push(`  not inspected: ${skipped}`);
  return lines.join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dryRun = process.argv.includes("--dry-run");
  reconcile({ templatePath: resolve("cdk.out", `${STACK_NAME}.template.json`), dryRun })
    .then((report) => console.log(formatReport(report)))
    .catch((error) => {
      console.error(`reconcile: ${(error as Error).message}`);
      process.exit(1);
    });
}
