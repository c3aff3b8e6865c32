import { fileURLToPath } from "node:url";
import {
  Annotations,
  Aspects,
  Duration,
  type IAspect,
  Lazy,
  Names,
  RemovalPolicy,
  Stack,
  Validations,
} from "aws-cdk-lib";
import {
  Alarm,
  type AlarmProps,
  CfnAlarm,
  Column,
  ComparisonOperator,
  ConcreteWidget,
  Dashboard,
  type IMetric,
  type IWidget,
  Metric,
  Row,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";
import { type ConsumerAlarmOptions, consumerKind } from "../queue-consumer/index.js";
import { type QueueAlarmOptions, queueKind } from "../reliable-queue/index.js";
import type { MonitorContext, ResourceKind } from "../runtime/resource-kind.js";
import { requireDuration } from "../runtime/validation.js";
import { SpoolFunction } from "../spool-function/index.js";
import { uniqueNames } from "./names.js";

export interface SpoolMonitoringProps {
  /**
   * Where every alarm sends its notifications. Subscribe your pager, chat or email to it.
   * @default - a new topic, encrypted with a new KMS key that CloudWatch may use, TLS only
   */
  readonly alarmTopic?: ITopic;
  /**
   * Also notify the topic when an alarm returns to OK.
   * @default true
   */
  readonly notifyOnRecovery?: boolean;
  /**
   * Find the resources to monitor by walking the stack's construct tree (at synthesis, so
   * resources added after this construct are found too). Without it only resources passed to
   * `monitor()` are watched.
   * @default true
   */
  readonly discover?: boolean;
  /**
   * Thresholds for every queue (a queue passed to `monitor()` may override them).
   * @default - see QueueAlarmOptions
   */
  readonly queueAlarms?: QueueAlarmOptions;
  /**
   * Thresholds for every consumer (a consumer passed to `monitor()` may override them).
   * @default - see ConsumerAlarmOptions
   */
  readonly consumerAlarms?: ConsumerAlarmOptions;
  /**
   * The dashboard's name.
   * @default - `<stack name>-spool`
   */
  readonly dashboardName?: string;
  /**
   * CloudWatch namespace of the metrics the queue sampler publishes.
   * @default "Spool"
   */
  readonly metricsNamespace?: string;
  /**
   * How often the queue sampler publishes EstimatedSecondsToDrain and dead-letter growth
   * (whole minutes, 1–60).
   * @default Duration.minutes(1)
   */
  readonly sampleInterval?: Duration;
  /**
   * The window of SQS's NumberOfMessagesDeleted the sampler averages into the processing rate
   * behind EstimatedSecondsToDrain (whole minutes, 1–60).
   * @default Duration.minutes(5)
   */
  readonly processingRateWindow?: Duration;
  /**
   * Dead-letter growth is the dead-letter count above its lowest point within this window
   * (whole minutes, at least two sample intervals, at most a day).
   * @default Duration.minutes(5)
   */
  readonly deadLetterGrowthWindow?: Duration;
  /**
   * How long the queue sampler's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/** One resource being monitored. */
interface Entry {
  readonly resource: IConstruct;
  /** Path below the stack, the basis of its default name. */
  readonly path: string;
  readonly explicitName: string | undefined;
}

interface KindState {
  readonly kind: ResourceKind<IConstruct, unknown>;
  readonly entries: Entry[];
  readonly section: Column;
}

export interface SampledQueue {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** Queues per sampler schedule: keeps each rule target's input well under its 8 KB limit. */
const QUEUES_PER_SAMPLER_RULE = 25;
/** CloudWatch's limit per alarm-status widget. */
const MAX_ALARMS_PER_WIDGET = 100;
/** The overview row holds at most this many alarm widgets side by side (each 6 units wide). */
const MAX_OVERVIEW_WIDGETS = 4;

/** Stacks that already have a SpoolMonitoring: a second would duplicate every alarm name. */
const monitoredStacks = new WeakSet<Stack>();

const samplerEntry = fileURLToPath(new URL("./runtime/sampler-handler.ts", import.meta.url));

/**
 * Alarms and a dashboard for everything a Spool stack contains.
 *
 * Add one per stack. At synthesis it walks the stack's construct tree and monitors every
 * resource of a known kind (ReliableQueue, QueueConsumer, and whatever `addKind` registers):
 * each gets alarms that notify one platform topic, and a row on one dashboard. Estimated time
 * to drain and dead-letter growth need arithmetic over metrics; rather than metric-math alarms
 * (which not every CloudFormation implementation accepts) a small scheduled function samples
 * the queues and publishes them as plain metrics, and plain alarms watch those.
 */
export class SpoolMonitoring extends Construct {
  /** Receives every alarm's notifications. */
  readonly alarmTopic: ITopic;
  readonly dashboard: Dashboard;
  /** Publishes EstimatedSecondsToDrain and dead-letter growth for every monitored queue. */
  readonly queueSampler: SpoolFunction;
  readonly metricsNamespace: string;

  readonly #alarms: Alarm[] = [];
  /** Each alarm by what it watches and when it fires: one condition pages once. */
  readonly #alarmsByCondition = new Map<string, Alarm>();
  readonly #kinds: KindState[] = [];
  readonly #options = new Map<IConstruct, unknown>();
  readonly #excluded = new Set<IConstruct>();
  readonly #registered = new Set<IConstruct>();
  readonly #samplerRules: { rule: Rule; queues: SampledQueue[] }[] = [];
  readonly #notifyOnRecovery: boolean;
  readonly #discover: boolean;
  readonly #sampleInterval: Duration;
  readonly #rateWindow: Duration;
  readonly #growthWindow: Duration;

  constructor(scope: Construct, id: string, props: SpoolMonitoringProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    if (monitoredStacks.has(stack)) {
      throw new Error(
        `one SpoolMonitoring per stack: ${stack.stackName} already has one, got a second at ${this.node.path}`,
      );
    }
    monitoredStacks.add(stack);
    this.#sampleInterval = props.sampleInterval ?? Duration.minutes(1);
    this.#rateWindow = props.processingRateWindow ?? Duration.minutes(5);
    this.#growthWindow = props.deadLetterGrowthWindow ?? Duration.minutes(5);
    requireDuration(this, "sampleInterval", this.#sampleInterval, 60, 3_600, {
      wholeMinutes: true,
    });
    requireDuration(this, "processingRateWindow", this.#rateWindow, 60, 3_600, {
      wholeMinutes: true,
    });
    requireDuration(
      this,
      "deadLetterGrowthWindow",
      this.#growthWindow,
      2 * this.#sampleInterval.toSeconds(),
      86_400,
      { wholeMinutes: true },
    );
    this.#notifyOnRecovery = props.notifyOnRecovery ?? true;
    this.#discover = props.discover ?? true;
    this.metricsNamespace = props.metricsNamespace ?? "Spool";

    this.alarmTopic = props.alarmTopic ?? this.#defaultTopic();

    this.dashboard = new Dashboard(this, "Dashboard", {
      dashboardName: props.dashboardName ?? `${stack.stackName}-spool`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          `# ${stack.stackName}: Spool operations`,
          "Generated from the stack's constructs: a section per kind of resource it contains (queues, consumers, and whatever kinds were added: workflows, schedules).",
          "From a terminal: `npx spool status`, `npx spool dlq list <queue>`, `npx spool dlq replay <queue> --dry-run`, `npx spool jobs show <id>`, `npx spool schedules list`.",
        ].join("\n\n"),
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(new AlarmOverviewWidget(this.#alarms));

    // Its own role, so what it may do is decided (and acknowledged) here: its log group, X-Ray,
    // and CloudWatch metrics, which have no resource-level permissions.
    const samplerRole = new Role(this, "QueueSamplerRole", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "Execution role of the Spool queue sampler",
    });
    this.queueSampler = new SpoolFunction(this, "QueueSampler", {
      entry: samplerEntry,
      role: samplerRole,
      description:
        "Spool monitoring: publishes EstimatedSecondsToDrain and dead-letter growth per queue",
      timeout: Duration.seconds(50),
      memorySize: 256,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: { POWERTOOLS_SERVICE_NAME: "spool-queue-sampler" },
    });
    // PutMetricData and GetMetricData take no resource ARNs; the namespace condition keeps the
    // sampler from writing anywhere but its own namespace.
    this.queueSampler.addToRolePolicy(
      new PolicyStatement({
        actions: ["cloudwatch:PutMetricData"],
        resources: ["*"],
        conditions: { StringEquals: { "cloudwatch:namespace": this.metricsNamespace } },
      }),
    );
    this.queueSampler.addToRolePolicy(
      new PolicyStatement({ actions: ["cloudwatch:GetMetricData"], resources: ["*"] }),
    );
    this.queueSampler.logGroup.grantWrite(samplerRole);
    Validations.of(samplerRole).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "cloudwatch:PutMetricData (held to the sampler's namespace by a condition), cloudwatch:GetMetricData and X-Ray tracing have no resource-level permissions; SQS access names each queue.",
    });
    Validations.of(this.queueSampler).acknowledge({
      id: "Serverless-LambdaDLQ",
      reason:
        "Invoked by a schedule every minute with no retries: a failed sample is worthless a minute later, and the monitoring-queue-sampler-errors alarm reports failures.",
    });
    const samplerErrors = new Alarm(this, "QueueSamplerErrors", {
      alarmName: `${stack.stackName}-monitoring-queue-sampler-errors`,
      alarmDescription:
        "The queue sampler failed: EstimatedSecondsToDrain and dead-letter growth are not being published, so their alarms cannot fire.",
      metric: this.queueSampler.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      evaluationPeriods: 1,
    });
    this.#wireActions(samplerErrors);

    this.addKind(queueKind(props.queueAlarms));
    this.addKind(consumerKind(props.consumerAlarms));

    const self = this;
    const aspect: IAspect = {
      visit(node) {
        self.#visit(node);
      },
    };
    Aspects.of(stack).add(aspect);
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /**
   * Teaches this monitoring a new kind of resource (workflows, schedules…). Every matching
   * construct in the stack is then monitored, and the kind gets its own dashboard section.
   */
  addKind<T extends IConstruct, O>(kind: ResourceKind<T, O>): void {
    if (this.#kinds.some((k) => k.kind.name === kind.name)) {
      throw new Error(`a resource kind named "${kind.name}" is already registered`);
    }
    // The heading goes in with the first resource: a kind the stack has none of shows nothing.
    const section = new Column();
    this.dashboard.addWidgets(section);
    this.#kinds.push({ kind: kind as ResourceKind<IConstruct, unknown>, entries: [], section });
  }

  /**
   * Monitors `resource` with these options (thresholds, a name). Needed only to override the
   * defaults, or for every resource when `discover` is false.
   */
  monitor<O>(resource: IConstruct, options?: O): void {
    if (Stack.of(resource) !== Stack.of(this)) {
      throw new Error(
        `monitor() needs a resource in this monitoring's stack (${Stack.of(this).stackName}), got ${resource.node.path}`,
      );
    }
    if (!this.#kinds.some((k) => k.kind.matches(resource))) {
      throw new Error(
        `monitor() knows no resource kind matching ${resource.node.path}; known kinds: ${this.#kinds.map((k) => k.kind.name).join(", ")}`,
      );
    }
    this.#options.set(resource, options ?? {});
  }

  /** Leaves `resource` unmonitored even though discovery would find it. */
  exclude(resource: IConstruct): void {
    this.#excluded.add(resource);
  }

  /** Every alarm created so far (complete after synthesis has visited the tree). */
  get alarms(): readonly Alarm[] {
    return [...this.#alarms];
  }

  /** The sampler's schedules with the queues each one carries (complete after synthesis). */
  get samplerRules(): readonly Rule[] {
    return this.#samplerRules.map((r) => r.rule);
  }

  #defaultTopic(): Topic {
    const key = new Key(this, "AlarmTopicKey", {
      description: "Encrypts the Spool alarm topic; CloudWatch alarms may use it to publish",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarm notifications to an encrypted topic only if the key lets it.
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
    );
    return new Topic(this, "AlarmTopic", {
      displayName: `${Stack.of(this).stackName} Spool alarms`,
      masterKey: key,
      enforceSSL: true,
    });
  }

  #wireActions(alarm: Alarm): void {
    const action = new SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    if (this.#notifyOnRecovery) alarm.addOkAction(action);
    this.#alarms.push(alarm);
  }

  #visit(node: IConstruct): void {
    const stack = Stack.of(this);
    if (node === stack) {
      this.#sweep(stack);
      return;
    }
    if (this.#registered.has(node) || this.#excluded.has(node)) return;
    if (!this.#discover && !this.#options.has(node)) return;
    const state = this.#kinds.find((k) => k.kind.matches(node));
    if (!state) return;
    this.#registered.add(node);
    this.#register(state, node, this.#options.get(node));
  }

  /**
   * Registers everything already in the stack, kind by kind in the order the kinds were added
   * (queues and consumers first), so which alarm a shared condition ends up named after does not
   * depend on where in the tree a resource happens to sit: a recurring job whose target queue's
   * dead-letter queue already has the queue's `dead-letters` alarm reuses it. Constructs added
   * later (by other aspects) are still registered one by one as they are visited.
   */
  #sweep(stack: Stack): void {
    const constructs = stack.node.findAll().filter((c) => Stack.of(c) === stack);
    for (const state of this.#kinds) {
      for (const node of constructs) {
        if (this.#registered.has(node) || this.#excluded.has(node)) continue;
        if (!this.#discover && !this.#options.has(node)) continue;
        if (!state.kind.matches(node)) continue;
        if (this.#kinds.find((k) => k.kind.matches(node)) !== state) continue;
        this.#registered.add(node);
        this.#register(state, node, this.#options.get(node));
      }
    }
  }

  #register(state: KindState, resource: IConstruct, options: unknown): void {
    const stack = Stack.of(this);
    const { kind } = state;
    const explicitName =
      (options as { name?: string } | undefined)?.name ?? kind.nameOf?.(resource) ?? undefined;
    const entry: Entry = {
      resource,
      path: resource.node.path.slice(stack.node.path.length + 1),
      explicitName,
    };
    if (state.entries.length === 0) {
      state.section.addWidget(
        new TextWidget({ markdown: `## ${kind.title}`, width: 24, height: 1 }),
      );
    }
    state.entries.push(entry);
    const name = Lazy.string({ produce: () => this.#nameOf(state, entry) });
    const alarmName = (signal: string) =>
      Lazy.string({
        produce: () => `${stack.stackName}-${kind.name}-${this.#nameOf(state, entry)}-${signal}`,
      });
    const scope = new Construct(this, `${kind.name}-${Names.nodeUniqueId(resource.node)}`);
    const context: MonitorContext = {
      name,
      scope,
      namespace: this.metricsNamespace,
      addAlarm: (signal: string, props: Omit<AlarmProps, "alarmName">) => {
        const metric = plainMetric(props.metric, `${resource.node.path} ${signal}`);
        const condition = this.#conditionOf(metric, {
          threshold: props.threshold,
          comparisonOperator: props.comparisonOperator,
          evaluationPeriods: props.evaluationPeriods,
          datapointsToAlarm: props.datapointsToAlarm,
          treatMissingData: props.treatMissingData,
        });
        const existing = this.#alarmsByCondition.get(condition);
        if (existing) return existing;
        const alarm = new Alarm(scope, signal, {
          ...props,
          metric,
          alarmName: alarmName(signal),
        });
        this.#alarmsByCondition.set(condition, alarm);
        this.#wireActions(alarm);
        return alarm;
      },
      adoptAlarm: (signal: string, alarm: Alarm) => {
        const cfn = alarm.node.defaultChild as CfnAlarm;
        if (Stack.of(alarm) !== stack || !(cfn instanceof CfnAlarm)) {
          throw new Error(
            `adoptAlarm needs an Alarm in this monitoring's stack (${stack.stackName}), got ${alarm.node.path}`,
          );
        }
        if (this.#alarms.includes(alarm)) return alarm;
        if (cfn.metrics !== undefined || !(alarm.metric instanceof Metric)) {
          throw new Error(
            `alarm ${alarm.node.path} must watch a single metric, not math (metric-math alarms are not deployable everywhere), to be adopted as ${signal}`,
          );
        }
        // CDK leaves an unnamed alarm's name as a token that resolves to nothing.
        if (stack.resolve(cfn.alarmName) === undefined) cfn.alarmName = alarmName(signal);
        const condition = this.#conditionOf(alarm.metric, {
          threshold: cfn.threshold as number,
          comparisonOperator: cfn.comparisonOperator as ComparisonOperator,
          evaluationPeriods: cfn.evaluationPeriods as number,
          datapointsToAlarm: cfn.datapointsToAlarm,
          treatMissingData: cfn.treatMissingData as TreatMissingData | undefined,
        });
        if (!this.#alarmsByCondition.has(condition)) this.#alarmsByCondition.set(condition, alarm);
        this.#wireActions(alarm);
        return alarm;
      },
      addWidgets: (...widgets: IWidget[]) => {
        state.section.addWidget(
          widgets.length === 1 ? (widgets[0] as IWidget) : new Row(...widgets),
        );
      },
      sampleQueue: (queue: IQueue, deadLetterQueue: IQueue) => {
        this.#sample(queue, deadLetterQueue);
      },
    };
    kind.monitor(resource, context, options);
  }

  /**
   * What an alarm watches and when it fires, as one string: two alarms with the same one would
   * page twice for one cause. CloudWatch's defaults fill what the props leave out.
   */
  #conditionOf(
    metric: Metric,
    condition: {
      threshold: number;
      comparisonOperator: ComparisonOperator | undefined;
      evaluationPeriods: number;
      datapointsToAlarm: number | undefined;
      treatMissingData: TreatMissingData | undefined;
    },
  ): string {
    const stack = Stack.of(this);
    return JSON.stringify([
      metric.namespace,
      metric.metricName,
      stack.resolve(metric.dimensions ?? {}),
      metric.statistic,
      metric.period.toSeconds(),
      metric.account ?? null,
      metric.region ?? null,
      condition.threshold,
      condition.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      condition.evaluationPeriods,
      condition.datapointsToAlarm ?? condition.evaluationPeriods,
      condition.treatMissingData ?? TreatMissingData.MISSING,
    ]);
  }

  #nameOf(state: KindState, entry: Entry): string {
    if (entry.explicitName) return entry.explicitName;
    const unnamed = state.entries.filter((e) => !e.explicitName);
    const names = uniqueNames(unnamed.map((e) => e.path));
    return names[unnamed.indexOf(entry)] ?? entry.path;
  }

  #sample(queue: IQueue, deadLetterQueue: IQueue): void {
    queue.grant(this.queueSampler, "sqs:GetQueueAttributes");
    deadLetterQueue.grant(this.queueSampler, "sqs:GetQueueAttributes");
    let current = this.#samplerRules.at(-1);
    if (!current || current.queues.length >= QUEUES_PER_SAMPLER_RULE) {
      const queues: SampledQueue[] = [];
      const rule = new Rule(this, `QueueSamplerSchedule${this.#samplerRules.length + 1}`, {
        description: "Spool monitoring: sample queue depth and processing rate",
        schedule: Schedule.rate(this.#sampleInterval),
      });
      rule.addTarget(
        new LambdaFunction(this.queueSampler, {
          event: RuleTargetInput.fromObject({
            namespace: this.metricsNamespace,
            rateWindowSeconds: this.#rateWindow.toSeconds(),
            growthWindowSeconds: this.#growthWindow.toSeconds(),
            queues: Lazy.any({ produce: () => queues }),
          }),
          // A sample is worth nothing a minute later: no retries, no queueing of stale events.
          retryAttempts: 0,
          maxEventAge: Duration.minutes(1),
        }),
      );
      Validations.of(rule).acknowledge({
        id: "Serverless-EventBusDLQ",
        reason:
          "A queue sample is worth nothing a minute later: an undelivered one is dropped on purpose (no retries, max event age 1 minute), and its absence alarms through the sampler's own error alarm.",
      });
      current = { rule, queues };
      this.#samplerRules.push(current);
    }
    current.queues.push({
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: deadLetterQueue.queueUrl,
    });
  }

  #validate(): string[] {
    const errors: string[] = [];
    for (const state of this.#kinds) {
      const seen = new Map<string, string>();
      for (const entry of state.entries) {
        const name = this.#nameOf(state, entry);
        const other = seen.get(name);
        if (other !== undefined) {
          errors.push(
            `two ${state.kind.name}s would be monitored as "${name}" (${other} and ${entry.path}): pass a distinct name with monitoring.monitor(resource, { name })`,
          );
        }
        seen.set(name, entry.path);
      }
    }
    const shown = MAX_ALARMS_PER_WIDGET * MAX_OVERVIEW_WIDGETS;
    if (this.#alarms.length > shown) {
      Annotations.of(this).addWarningV2(
        "spool:monitoringAlarmOverflow",
        `the dashboard's alarm overview shows the first ${shown} of ${this.#alarms.length} alarms`,
      );
    }
    return errors;
  }
}

/**
 * The metric an alarm may watch everywhere Spool deploys: a single metric without a label.
 * CDK renders a labelled metric (or math) as the alarm's `Metrics` array, and some
 * CloudFormation implementations (MiniStack's) refuse the whole stack for that.
 */
function plainMetric(metric: IMetric, where: string): Metric {
  if (!(metric instanceof Metric)) {
    throw new Error(
      `alarm ${where} must watch a single metric, not math (metric-math alarms are not deployable everywhere): publish the value as a metric instead, got ${metric.toString()}`,
    );
  }
  return new Metric({
    namespace: metric.namespace,
    metricName: metric.metricName,
    dimensionsMap: metric.dimensions as Record<string, string> | undefined,
    statistic: metric.statistic,
    period: metric.period,
    ...(metric.unit ? { unit: metric.unit } : {}),
    ...(metric.account ? { account: metric.account } : {}),
    ...(metric.region ? { region: metric.region } : {}),
  });
}

/** The alarm status of every alarm, filled in once synthesis has found them all. */
class AlarmOverviewWidget extends ConcreteWidget {
  readonly #alarms: readonly Alarm[];

  constructor(alarms: readonly Alarm[]) {
    super(24, 6);
    this.#alarms = alarms;
  }

  override position(x: number, y: number): void {
    this.x = x;
    this.y = y;
  }

  /**
   * One alarm-status widget per 100 alarms (CloudWatch's limit), side by side in the overview
   * row: the row's height is fixed when the dashboard is laid out, before the alarms are known.
   */
  override toJson(): unknown[] {
    const alarms = this.#alarms.slice(0, MAX_ALARMS_PER_WIDGET * MAX_OVERVIEW_WIDGETS);
    const parts = Math.max(1, Math.ceil(alarms.length / MAX_ALARMS_PER_WIDGET));
    const width = Math.floor(this.width / parts);
    return Array.from({ length: parts }, (_, i) => ({
      type: "alarm",
      width,
      height: this.height,
      x: (this.x ?? 0) + i * width,
      y: this.y,
      properties: {
        title: parts > 1 ? `Alarms (${i + 1} of ${parts})` : "Alarms",
        alarms: alarms
          .slice(i * MAX_ALARMS_PER_WIDGET, (i + 1) * MAX_ALARMS_PER_WIDGET)
          .map((a) => a.alarmArn),
        sortBy: "stateUpdatedTimestamp",
      },
    }));
  }
}
