import { fileURLToPath } from "node:url";
import { Duration, Names, RemovalPolicy } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type EventPattern, type IEventBus, Rule, RuleTargetInput } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import type { Grant, IGrantable } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";
import {
  type ConsumedPayloadStore,
  QueueConsumer,
  type RetryBackoff,
} from "../queue-consumer/index.js";
import { ReliableQueue } from "../reliable-queue/index.js";
import { invalid, requireInteger, requirePattern, requireSeconds } from "../runtime/validation.js";
import { acknowledgeDeadLetterQueue } from "../spool-function/index.js";
import { FORWARDER_ENV } from "./contract.js";

/** The forwarder that gives each event its FIFO message group (runtime/forward.ts). */
const FORWARDER_ENTRY = fileURLToPath(new URL("./runtime/forward-handler.ts", import.meta.url));

/** EventBridge's own limits for a target's retry policy. */
const MAX_DELIVERY_RETRY_ATTEMPTS = 185;
const MIN_EVENT_AGE_SECONDS = 60;
const MAX_EVENT_AGE_SECONDS = 86_400;
/** How long the rule target's own DLQ keeps an event EventBridge could not deliver. */
const DELIVERY_DEAD_LETTER_RETENTION = Duration.days(14);
const GROUP_ID_PATH = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;

/**
 * The store whose pointers a subscription resolves: a PayloadStore, or anything with its bucket
 * name and grants. Writing is for the FIFO forwarder, which re-sends what it read.
 */
export interface SubscribedPayloadStore extends ConsumedPayloadStore {
  grantWrite(grantee: IGrantable): Grant;
}

export interface EventSubscriptionProps {
  /** The bus whose events this consumer subscribes to. */
  readonly eventBus: IEventBus;
  /** Which events: e.g. `{ source: ["spool.checkout"], detailType: ["OrderPlaced"] }`. */
  readonly eventPattern: EventPattern;
  /** Path of the consumer's handler module; build it with `eventConsumerHandler`. */
  readonly entry: string;
  /**
   * The exported handler's name.
   * @default "handler"
   */
  readonly handler?: string;
  /**
   * Stable name for this consumer: prefixes its idempotency keys, names it in dead letters.
   * @default - a name unique to this construct's path
   */
  readonly consumerName?: string;
  /**
   * Table for idempotency records (keyed by event id).
   * @default - no idempotency: a re-delivered or re-published event runs the step again
   */
  readonly idempotencyTable?: ITable;
  /**
   * Deliver in order per message group, read from this path of the envelope (`data.orderId`):
   * the consumer's queue is FIFO and a small forwarder puts each event in its group, because an
   * EventBridge rule can give a FIFO target only one static group id.
   * @default - a standard queue: no ordering, higher throughput, one hop fewer
   */
  readonly messageGroupIdPath?: string;
  /**
   * The consumer's timeout; its queue's visibility timeout is 6× this.
   * @default Duration.seconds(30)
   */
  readonly consumerTimeout?: Duration;
  /**
   * Deliveries before the queue dead-letters an event (the consumer's retry budget).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Retry delays for the consumer's transient failures (exponential, full jitter).
   * @default { base: Duration.seconds(2), cap: Duration.minutes(5) }
   */
  readonly backoff?: RetryBackoff;
  /**
   * The most concurrent consumer invocations (2–1000). FIFO queues process one batch per
   * message group at a time whatever this says.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Records per consumer invocation.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long EventBridge keeps retrying an event it cannot deliver to the queue (60 s – 24 h).
   * @default Duration.hours(24)
   */
  readonly deliveryMaxEventAge?: Duration;
  /**
   * How many times EventBridge retries an event it cannot deliver to the queue (0–185).
   * @default 185
   */
  readonly deliveryRetryAttempts?: number;
  /**
   * The PayloadStore the outbox offloads large events to: the consumer resolves an event's
   * pointer before validating it (s3:GetObject on the store's objects, s3:ListBucket so a
   * missing object reads as one), and a FIFO subscription's forwarder resolves it too (to read
   * the group id) and offloads what it re-sends above 256 KiB (s3:PutObject). Pass the
   * subscription to the store's `queues` so objects outlive every copy of the pointer.
   * @default - none: an event that carries a pointer is dead-lettered as PAYLOAD_UNRESOLVABLE
   */
  readonly payloadStore?: SubscribedPayloadStore;
  /**
   * Extra environment variables for the consumer.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * How long the functions' logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * The rule's description.
   * @default - names the consumer
   */
  readonly description?: string;
}

/**
 * One consumer of a bus: rule → reliable queue (+ DLQ) → idempotent consumer, in one call.
 *
 * What can fail, and where it ends up:
 * - EventBridge cannot deliver to the queue (policy, KMS, throttling past its retries): the
 *   event goes to `deliveryDeadLetterQueue`, the rule target's own DLQ;
 * - the consumer fails permanently (schema, unsupported major, business rule) or runs out of
 *   retries: the event goes to `queue.deadLetterQueue` with Spool's dead-letter metadata;
 * - with `messageGroupIdPath`, an event without a usable group id stops at the forwarder and
 *   goes to `inbox.deadLetterQueue`.
 */
export class EventSubscription extends Construct {
  readonly rule: Rule;
  /** The queue the consumer reads (FIFO with `messageGroupIdPath`), with its DLQ. */
  readonly queue: ReliableQueue;
  readonly consumer: QueueConsumer;
  /** Events EventBridge could not deliver to the subscription's first queue. */
  readonly deliveryDeadLetterQueue: Queue;
  /** With `messageGroupIdPath`: the standard queue the rule delivers to, before the forwarder. */
  readonly inbox: ReliableQueue | undefined;
  /** With `messageGroupIdPath`: the function that moves events from `inbox` to `queue`. */
  readonly forwarder: QueueConsumer | undefined;
  readonly consumerName: string;
  /**
   * How long a pointer can wait before this subscription's consumer first has it: EventBridge's
   * delivery retries (`deliveryMaxEventAge`) and then the longest retention of its queues. With
   * `deadLetterRetentionPeriod`, what a PayloadStore's `queues` needs to keep objects long enough.
   */
  readonly retentionPeriod: Duration;
  /** The longest any of its dead-letter queues (the consumer's, the inbox's, delivery's) keeps one. */
  readonly deadLetterRetentionPeriod: Duration;

  constructor(scope: Construct, id: string, props: EventSubscriptionProps) {
    super(scope, id);
    const consumerTimeout = props.consumerTimeout ?? Duration.seconds(30);
    const deliveryMaxEventAge = props.deliveryMaxEventAge ?? Duration.hours(24);
    const deliveryRetryAttempts = props.deliveryRetryAttempts ?? MAX_DELIVERY_RETRY_ATTEMPTS;
    validate(this, props, { consumerTimeout, deliveryMaxEventAge, deliveryRetryAttempts });
    this.consumerName =
      props.consumerName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: "-" });
    const fifo = props.messageGroupIdPath !== undefined;
    // AWS's guidance for Lambda consumers: visibility timeout at least 6x the function timeout.
    const visibilityTimeout = Duration.seconds(consumerTimeout.toSeconds() * 6);

    this.queue = new ReliableQueue(this, "Queue", {
      fifo,
      visibilityTimeout,
      ...(props.maxReceiveCount !== undefined ? { maxReceiveCount: props.maxReceiveCount } : {}),
    });
    this.consumer = new QueueConsumer(this, "Consumer", {
      source: this.queue,
      entry: props.entry,
      consumerName: this.consumerName,
      timeout: consumerTimeout,
      ...(props.handler ? { handler: props.handler } : {}),
      ...(props.idempotencyTable ? { idempotencyTable: props.idempotencyTable } : {}),
      ...(props.backoff ? { backoff: props.backoff } : {}),
      ...(props.maxConcurrency !== undefined ? { maxConcurrency: props.maxConcurrency } : {}),
      ...(props.batchSize !== undefined ? { batchSize: props.batchSize } : {}),
      ...(props.environment ? { environment: props.environment } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.payloadStore ? { payloadStore: props.payloadStore } : {}),
    });

    if (fifo) {
      this.inbox = new ReliableQueue(this, "Inbox", {
        visibilityTimeout,
        ...(props.maxReceiveCount !== undefined ? { maxReceiveCount: props.maxReceiveCount } : {}),
      });
      this.forwarder = new QueueConsumer(this, "Forwarder", {
        source: this.inbox,
        entry: FORWARDER_ENTRY,
        consumerName: `${this.consumerName}-forwarder`,
        timeout: consumerTimeout,
        ...(props.idempotencyTable ? { idempotencyTable: props.idempotencyTable } : {}),
        ...(props.backoff ? { backoff: props.backoff } : {}),
        ...(props.maxConcurrency !== undefined ? { maxConcurrency: props.maxConcurrency } : {}),
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
        // Resolves a pointer to read the group id, and offloads what it re-sends when large.
        ...(props.payloadStore ? { payloadStore: props.payloadStore } : {}),
        environment: {
          ...props.environment,
          [FORWARDER_ENV.queueUrl]: this.queue.queue.queueUrl,
          [FORWARDER_ENV.messageGroupIdPath]: props.messageGroupIdPath as string,
        },
      });
      this.queue.queue.grantSendMessages(this.forwarder.function);
      props.payloadStore?.grantWrite(this.forwarder.function);
    }

    // EventBridge needs a standard queue as a target's DLQ. It is a DLQ itself, so it has none.
    this.deliveryDeadLetterQueue = new Queue(this, "DeliveryDeadLetterQueue", {
      retentionPeriod: DELIVERY_DEAD_LETTER_RETENTION,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeDeadLetterQueue(
      this.deliveryDeadLetterQueue,
      "events EventBridge could not deliver",
    );

    const queues = [this.queue, ...(this.inbox ? [this.inbox] : [])];
    const longest = (durations: Duration[]) =>
      Duration.seconds(Math.max(...durations.map((d) => d.toSeconds())));
    this.retentionPeriod = Duration.seconds(
      deliveryMaxEventAge.toSeconds() + longest(queues.map((q) => q.retentionPeriod)).toSeconds(),
    );
    this.deadLetterRetentionPeriod = longest([
      ...queues.map((q) => q.deadLetterRetentionPeriod),
      DELIVERY_DEAD_LETTER_RETENTION,
    ]);

    this.rule = new Rule(this, "Rule", {
      eventBus: props.eventBus,
      eventPattern: props.eventPattern,
      description: props.description ?? `Spool subscription: ${this.consumerName}`,
    });
    this.rule.addTarget(
      new SqsQueue((this.inbox ?? this.queue).queue, {
        // Only the Spool envelope: consumers, dead letters and replays all see one shape.
        message: RuleTargetInput.fromEventPath("$.detail"),
        deadLetterQueue: this.deliveryDeadLetterQueue,
        maxEventAge: deliveryMaxEventAge,
        retryAttempts: deliveryRetryAttempts,
      }),
    );
  }
}

interface Resolved {
  readonly consumerTimeout: Duration;
  readonly deliveryMaxEventAge: Duration;
  readonly deliveryRetryAttempts: number;
}

function validate(scope: IConstruct, props: EventSubscriptionProps, r: Resolved): void {
  const pattern = props.eventPattern as Record<string, unknown>;
  if (Object.values(pattern).every((v) => v === undefined)) {
    invalid(
      scope,
      "eventPattern must match on at least one field (e.g. source or detailType), got {}",
    );
  }
  requirePattern(
    scope,
    "messageGroupIdPath",
    props.messageGroupIdPath,
    GROUP_ID_PATH,
    'a dotted path into the event envelope such as "data.orderId"',
  );
  requireSeconds(
    scope,
    "deliveryMaxEventAge",
    r.deliveryMaxEventAge,
    MIN_EVENT_AGE_SECONDS,
    MAX_EVENT_AGE_SECONDS,
    "from 60 seconds to 24 hours",
  );
  requireInteger(
    scope,
    "deliveryRetryAttempts",
    r.deliveryRetryAttempts,
    0,
    MAX_DELIVERY_RETRY_ATTEMPTS,
  );
  // The queue's visibility timeout is 6x this, and SQS allows at most 12 hours.
  requireSeconds(
    scope,
    "consumerTimeout",
    r.consumerTimeout,
    1,
    900,
    "from 1 second to 15 minutes",
  );
}
