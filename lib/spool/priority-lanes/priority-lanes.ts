import { type CfnResource, Duration } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct, type IConstruct } from "constructs";
import { QueueConsumer, type RetryBackoff } from "../queue-consumer/index.js";
import { ReliableQueue } from "../reliable-queue/index.js";
import { invalid, requireInteger, requirePattern } from "../runtime/validation.js";
import {
  LANE_METADATA_KEY,
  LANE_NAME_PATTERN,
  LANE_NAME_RULE,
  type LaneMetadata,
  lanesEnvName,
  laneUrlEnvName,
} from "./contract.js";

/** One lane: its own queue and its own share of the consumer's concurrency. */
export interface Lane {
  /** The name producers send to (`laneUrl(group, name)`); see LANE_NAME_RULE. */
  readonly name: string;
  /**
   * The most concurrent invocations this lane's event source starts (2–1000): its share. A lane
   * never waits for another lane's backlog, so a lower lane always progresses at its own share.
   */
  readonly maxConcurrency: number;
}

export interface PriorityLanesProps {
  /**
   * The group's name: the prefix of the producers' environment variables, the label monitoring
   * and `spool status` show the lanes under, and the default `consumerName`.
   */
  readonly name: string;
  /** The lanes, highest priority first (2–10 of them, names unique). */
  readonly lanes: readonly Lane[];
  /** Path of the handler module every lane runs (built with `sqsConsumerHandler`). */
  readonly entry: string;
  /**
   * The exported handler's name.
   * @default "handler"
   */
  readonly handler?: string;
  /**
   * The idempotency key prefix every lane shares (and the `consumer` in dead-letter metadata):
   * a message sent to two lanes runs once.
   * @default - the group's `name`
   */
  readonly consumerName?: string;
  /** Table for idempotency records, shared by all lanes' consumers. */
  readonly idempotencyTable: ITable;
  /**
   * How long a completed key suppresses duplicates.
   * @default Duration.hours(24)
   */
  readonly idempotencyTtl?: Duration;
  /**
   * Function timeout of every lane's consumer.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Records per invocation. Small batches let a higher lane's record start sooner, since a
   * lane's invocation works through its batch before it takes more.
   * @default 1
   */
  readonly batchSize?: number;
  /**
   * Deliveries before a lane's message is dead-lettered (each lane has its own dead-letter queue).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Retry delays for transient failures.
   * @default - QueueConsumer's default ({ base: 2 s, cap: 5 min })
   */
  readonly backoff?: RetryBackoff;
  /**
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Extra environment variables for the handler.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * CloudWatch namespace for the consumers' EMF metrics.
   * @default "Spool"
   */
  readonly metricsNamespace?: string;
  /**
   * How long the functions' logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/** What grantSend needs of a function: a principal and an environment it can add to. */
export interface LaneProducer extends IGrantable {
  addEnvironment(key: string, value: string): unknown;
}

const MAX_LANES = 10;

/**
 * N ReliableQueues for one kind of work, each drained by its own QueueConsumer running the same
 * handler with the lane's concurrency share. Priority comes from the shares, not from ordering
 * reads: each lane's event source polls on its own, so a full low lane never delays a high one,
 * and a busy high lane never stops the low one (no starvation).
 */
export class PriorityLanes extends Construct {
  readonly name: string;
  readonly consumerName: string;
  /** Lane name → its queue, highest priority first. */
  readonly queues: ReadonlyMap<string, ReliableQueue>;
  /** Lane name → its consumer, highest priority first. */
  readonly consumers: ReadonlyMap<string, QueueConsumer>;

  constructor(scope: Construct, id: string, props: PriorityLanesProps) {
    super(scope, id);
    validate(this, props);
    this.name = props.name;
    this.consumerName = props.consumerName ?? props.name;
    const timeout = props.timeout ?? Duration.seconds(30);
    const queues = new Map<string, ReliableQueue>();
    const consumers = new Map<string, QueueConsumer>();

    props.lanes.forEach((lane, rank) => {
      // "<group>-<lane>": the queue's friendly name in alarms and `spool status` (path-derived).
      const queue = new ReliableQueue(this, `${props.name}-${lane.name}`, {
        visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
        maxReceiveCount: props.maxReceiveCount ?? 5,
      });
      const metadata: LaneMetadata = { group: props.name, lane: lane.name, rank };
      (queue.queue.node.defaultChild as CfnResource).addMetadata(LANE_METADATA_KEY, metadata);
      const consumer = new QueueConsumer(this, `${lane.name}-consumer`, {
        source: queue,
        entry: props.entry,
        handler: props.handler ?? "handler",
        // One key space for the group: the idempotency prefix is the consumerName, so every
        // lane's consumer gets the same one; the service name (metrics, logs) and the monitoring
        // name (alarms, dashboard) tell the lanes apart.
        consumerName: this.consumerName,
        serviceName: `${this.consumerName}-${lane.name}`,
        monitoringName: `${this.consumerName}-${lane.name}`,
        idempotencyTable: props.idempotencyTable,
        ...(props.idempotencyTtl ? { idempotencyTtl: props.idempotencyTtl } : {}),
        timeout,
        batchSize: props.batchSize ?? 1,
        maxConcurrency: lane.maxConcurrency,
        ...(props.backoff ? { backoff: props.backoff } : {}),
        ...(props.memorySize ? { memorySize: props.memorySize } : {}),
        ...(props.environment ? { environment: props.environment } : {}),
        ...(props.metricsNamespace ? { metricsNamespace: props.metricsNamespace } : {}),
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      });
      queues.set(lane.name, queue);
      consumers.set(lane.name, consumer);
    });
    this.queues = queues;
    this.consumers = consumers;
  }

  /** Lane `name`'s concurrency share (its consumer's `maxConcurrency`). */
  shareOf(name: string): number {
    return this.consumerOf(name).maxConcurrency;
  }

  /** The consumer of lane `name`; a name the group lacks throws, naming its lanes. */
  consumerOf(name: string): QueueConsumer {
    const consumer = this.consumers.get(name);
    if (!consumer) {
      invalid(this, `has no lane "${name}"; its lanes: ${[...this.queues.keys()].join(", ")}`);
    }
    return consumer;
  }

  /** The queue of lane `name`; a name the group lacks throws, naming its lanes. */
  queueOf(name: string): ReliableQueue {
    const queue = this.queues.get(name);
    if (!queue) {
      invalid(this, `has no lane "${name}"; its lanes: ${[...this.queues.keys()].join(", ")}`);
    }
    return queue;
  }

  /**
   * Lets `producer` send to every lane and writes the lanes' URLs into its environment, where
   * `laneUrl(group, lane)` (runtime/lanes.ts) finds them.
   */
  grantSend(producer: LaneProducer): void {
    producer.addEnvironment(lanesEnvName(this.name), [...this.queues.keys()].join(","));
    for (const [lane, queue] of this.queues) {
      queue.queue.grantSendMessages(producer);
      producer.addEnvironment(laneUrlEnvName(this.name, lane), queue.queue.queueUrl);
    }
  }
}

function validate(scope: IConstruct, props: PriorityLanesProps): void {
  requirePattern(scope, "name", props.name, LANE_NAME_PATTERN, LANE_NAME_RULE);
  const count = props.lanes.length;
  if (count < 2 || count > MAX_LANES) {
    invalid(scope, `lanes must hold 2 to ${MAX_LANES} lanes, got ${count}`);
  }
  const seen = new Set<string>();
  props.lanes.forEach((lane, i) => {
    requirePattern(scope, `lanes[${i}].name`, lane.name, LANE_NAME_PATTERN, LANE_NAME_RULE);
    if (seen.has(lane.name)) {
      invalid(scope, `lanes[${i}].name must be unique in the group, got "${lane.name}" twice`);
    }
    seen.add(lane.name);
    requireInteger(scope, `lanes[${i}].maxConcurrency`, lane.maxConcurrency, 2, 1000);
  });
}
