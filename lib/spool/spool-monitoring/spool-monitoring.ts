import {
  Annotations,
  ArnFormat,
  Aspects,
  Duration,
  type IAspect,
  Lazy,
  Names,
  RemovalPolicy,
  Stack,
} from "aws-cdk-lib";
import {
  Alarm,
  type AlarmProps,
  CfnAlarm,
  Column,
  type ComparisonOperator,
  type Dashboard,
  type IWidget,
  Metric,
  Row,
  TextWidget,
  type TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { Rule } from "aws-cdk-lib/aws-events";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";
import { type ConsumerAlarmOptions, consumerKind } from "../queue-consumer/index.js";
import { type QueueAlarmOptions, queueKind } from "../reliable-queue/index.js";
import type { MonitorContext, ResourceKind } from "../runtime/resource-kind.js";
import { invalid } from "../runtime/validation.js";
import type { SpoolFunction } from "../spool-function/index.js";
import { conditionOf, plainMetric } from "./alarm-conditions.js";
import { MAX_ALARMS_PER_WIDGET, MAX_OVERVIEW_WIDGETS } from "./alarm-overview-widget.js";
import { createDashboard } from "./dashboard.js";
import { uniqueNames } from "./names.js";
import {
  createQueueSampler,
  type SamplerRule,
  type SamplerSettings,
  sampleQueue,
} from "./queue-sampler.js";
import { validateSpoolMonitoringProps } from "./validate-spool-monitoring-props.js";

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

/** Stacks that already have a SpoolMonitoring: a second would duplicate every alarm name. */
const monitoredStacks = new WeakSet<Stack>();

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
  readonly #samplerRules: SamplerRule[] = [];
  readonly #notifyOnRecovery: boolean;
  readonly #discover: boolean;
  readonly #samplerSettings: SamplerSettings;

  constructor(scope: Construct, id: string, props: SpoolMonitoringProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    if (monitoredStacks.has(stack)) {
      invalid(
        this,
        `one SpoolMonitoring per stack: ${stack.stackName} already has one, got a second at ${this.node.path}`,
      );
    }
    monitoredStacks.add(stack);
    const timings = {
      sampleInterval: props.sampleInterval ?? Duration.minutes(1),
      processingRateWindow: props.processingRateWindow ?? Duration.minutes(5),
      deadLetterGrowthWindow: props.deadLetterGrowthWindow ?? Duration.minutes(5),
    };
    validateSpoolMonitoringProps(this, timings);
    this.#notifyOnRecovery = props.notifyOnRecovery ?? true;
    this.#discover = props.discover ?? true;
    this.metricsNamespace = props.metricsNamespace ?? "Spool";
    this.#samplerSettings = {
      metricsNamespace: this.metricsNamespace,
      sampleInterval: timings.sampleInterval,
      rateWindow: timings.processingRateWindow,
      growthWindow: timings.deadLetterGrowthWindow,
    };

    this.alarmTopic = props.alarmTopic ?? this.#defaultTopic();

    this.dashboard = createDashboard(
      this,
      {
        dashboardName: props.dashboardName ?? `${stack.stackName}-spool`,
        stackName: stack.stackName,
      },
      this.#alarms,
    );

    const { queueSampler, samplerErrors } = createQueueSampler(this, {
      metricsNamespace: this.metricsNamespace,
      logRetention: props.logRetention,
    });
    this.queueSampler = queueSampler;
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
      invalid(this, `a resource kind named "${kind.name}" is already registered`);
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
      invalid(
        this,
        `monitor() needs a resource in this monitoring's stack (${Stack.of(this).stackName}), got ${resource.node.path}`,
      );
    }
    if (!this.#kinds.some((k) => k.kind.matches(resource))) {
      invalid(
        this,
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
    const topic = new Topic(this, "AlarmTopic", {
      displayName: `${Stack.of(this).stackName} Spool alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // enforceSSL makes CDK emit a topic policy, and a topic policy replaces SNS's default one:
    // without this statement nothing may publish, and on AWS every alarm notification fails.
    // Only this account's alarms in this region may use it (no confused deputy).
    const stack = Stack.of(this);
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowCloudWatchAlarms",
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnLike: {
            "aws:SourceArn": stack.formatArn({
              service: "cloudwatch",
              resource: "alarm",
              resourceName: "*",
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    return topic;
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
        const condition = conditionOf(stack, metric, {
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
        const condition = conditionOf(stack, alarm.metric, {
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
        sampleQueue(
          this,
          this.queueSampler,
          this.#samplerRules,
          this.#samplerSettings,
          queue,
          deadLetterQueue,
        );
      },
    };
    kind.monitor(resource, context, options);
  }

  #nameOf(state: KindState, entry: Entry): string {
    if (entry.explicitName) return entry.explicitName;
    const unnamed = state.entries.filter((e) => !e.explicitName);
    const names = uniqueNames(unnamed.map((e) => e.path));
    return names[unnamed.indexOf(entry)] ?? entry.path;
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
