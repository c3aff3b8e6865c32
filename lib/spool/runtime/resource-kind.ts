import type { Alarm, AlarmProps, IWidget } from "aws-cdk-lib/aws-cloudwatch";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct, IConstruct } from "constructs";

// Type-only and SDK-free: it sits in the shared folder so that each construct can define its
// own monitoring kind (lib/spool/<construct>/monitoring.ts) and still copy without
// spool-monitoring.

/**
 * A kind of resource SpoolMonitoring knows how to watch: how to recognise it in the construct
 * tree, and which alarms and dashboard widgets it gets. Queues and queue consumers are built
 * in; a new capability (workflows, schedules) plugs in with `monitoring.addKind(kind)` and every
 * matching construct in the stack is then monitored, wherever it was added.
 */
export interface ResourceKind<T extends IConstruct = IConstruct, O = unknown> {
  /** One word, in alarm names: `<stack>-<name>-<resource>-<signal>` ("queue", "workflow"). */
  readonly name: string;
  /** Heading of this kind's dashboard section ("Queues"). */
  readonly title: string;
  /** Whether a construct found in the tree is one of this kind. */
  matches(construct: IConstruct): construct is T;
  /**
   * The resource's default name (before paths are made unique): e.g. a consumer's
   * `consumerName`. Return undefined to name it after its construct path.
   */
  nameOf?(resource: T): string | undefined;
  /** Creates the resource's alarms and widgets through `context`. */
  monitor(resource: T, context: MonitorContext, options: O | undefined): void;
}

/** What a ResourceKind may use to monitor one resource. */
export interface MonitorContext {
  /**
   * The resource's friendly name (a token resolved at synthesis, once every resource of the
   * kind is known, so names can be made unique).
   */
  readonly name: string;
  /** Where this resource's alarms live: one scope per resource, its id stable across deploys. */
  readonly scope: Construct;
  /** CloudWatch namespace of the metrics Spool publishes itself (e.g. EstimatedSecondsToDrain). */
  readonly namespace: string;
  /**
   * Creates an alarm named `<stack>-<kind>-<resource>-<signal>` whose ALARM (and, by default,
   * OK) transitions notify the platform's alarm topic, and lists it on the dashboard.
   *
   * One condition pages once: when an alarm on the same metric with the same condition exists
   * already (recurring jobs sharing their target queue's dead-letter queue, schedules sharing a
   * schedule group), that alarm is returned and no second one is created.
   */
  addAlarm(signal: string, props: Omit<AlarmProps, "alarmName">): Alarm;
  /**
   * Makes an alarm the resource created itself (a SagaWorkflow's failed-executions alarm) one of
   * the platform's: named `<stack>-<kind>-<resource>-<signal>` unless it has a name, its ALARM
   * (and OK) transitions on the alarm topic, listed on the dashboard. Nothing is duplicated: the
   * construct keeps its alarm, the platform routes it. It must watch a single metric.
   */
  adoptAlarm(signal: string, alarm: Alarm): Alarm;
  /** Adds a row of widgets to this kind's dashboard section. */
  addWidgets(...widgets: IWidget[]): void;
  /**
   * Has the queue sampler publish `EstimatedSecondsToDrain` for `queue` and
   * `DeadLetterQueueMessages` / `DeadLetterQueueGrowth` for `deadLetterQueue` every sampling
   * interval (dimension `QueueName`).
   */
  sampleQueue(queue: IQueue, deadLetterQueue: IQueue): void;
}
