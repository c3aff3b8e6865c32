import { Annotations, Duration, Names, Tokenization, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type Grant, type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";
import { CONSUMER_ENV } from "../runtime/consumer-config.js";
import { invalid, requireInteger, requireSeconds, secondsOf } from "../runtime/validation.js";
import { SpoolFunction } from "../spool-function/index.js";
import { validateBreakers } from "./breakers.js";
import { groupHoldEnvironment } from "./group-hold.js";
import { grantJobs, jobsEnvironment, type QueueConsumerJobs, validateJobs } from "./jobs.js";
import { type RateLimit, rateLimitEnvironment, validateRateLimit } from "./rate-limit.js";
import {
  type TenantFairness,
  tenantFairnessEnvironment,
  validateTenantFairness,
} from "./tenant-fairness.js";

/** What the consumer needs to know of its queue; a ReliableQueue satisfies it. */
export interface ConsumedQueue {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  /** The queue's redrive maxReceiveCount: the consumer dead-letters on that attempt itself. */
  readonly maxReceiveCount: number;
  readonly fifo: boolean;
  readonly visibilityTimeout: Duration;
}

/** What the consumer needs of a claim-check store; a PayloadStore satisfies it. */
export interface ConsumedPayloadStore {
  readonly bucketName: string;
  grantRead(grantee: IGrantable): Grant;
}

export interface RetryBackoff {
  /** Upper bound of the first retry's delay. */
  readonly base: Duration;
  /** Upper bound of any retry's delay. */
  readonly cap: Duration;
}

/** How often a running record's visibility is extended, and by how much. */
export interface VisibilityHeartbeat {
  /** Time between extensions: whole seconds, at least 1 s, less than `extendBy`. */
  readonly every: Duration;
  /**
   * How long each extension hides the record, counted from the extension (whole seconds, at
   * most 12 hours). At least twice `every` lets one failed extension be retried in time.
   */
  readonly extendBy: Duration;
}

export interface QueueConsumerProps {
  /** The queue to consume. */
  readonly source: ConsumedQueue;
  /** Path of the handler module (TypeScript); it should export a handler built with `createSqsConsumer`. */
  readonly entry: string;
  /**
   * The exported handler's name.
   * @default "handler"
   */
  readonly handler?: string;
  /**
   * Stable name for this consumer: the prefix of its idempotency keys and the `consumer` in
   * dead-letter metadata. Keep it when the function is renamed, or old keys stop matching.
   * @default - a name unique to this construct's path
   */
  readonly consumerName?: string;
  /**
   * The consumer's name in monitoring (alarm names, dashboard). Consumers that share a
   * `consumerName` on purpose (PriorityLanes' lanes: one idempotency key space) need distinct ones.
   * @default - the consumerName
   */
  readonly monitoringName?: string;
  /**
   * Table for idempotency records.
   * @default - no idempotency: every delivery runs the business step
   */
  readonly idempotencyTable?: ITable;
  /**
   * How long a completed key suppresses duplicates.
   * @default Duration.hours(24)
   */
  readonly idempotencyTtl?: Duration;
  /**
   * The PayloadStore whose claim-check pointers this consumer resolves before validating a
   * message: read access to its objects, and its bucket in `SPOOL_PAYLOAD_BUCKET`. The handler's
   * dependencies must then carry `payloadObjects` (see the PayloadStore README).
   * @default - none: a message carrying a pointer is dead-lettered as PAYLOAD_UNRESOLVABLE
   */
  readonly payloadStore?: ConsumedPayloadStore;
  /**
   * Function timeout. The queue's visibility timeout must be at least 6× this, unless the
   * consumer has a `heartbeat`.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Keeps each record of a batch hidden while this consumer holds it, by extending its
   * visibility every `every` by `extendBy`, so a record that runs longer than the queue's
   * visibility timeout is not handed to a second worker. The queue's visibility timeout then
   * needs to be only `every` + 10 s instead of 6× the function timeout.
   * @default - no heartbeat: a record is hidden for the queue's visibility timeout only
   */
  readonly heartbeat?: VisibilityHeartbeat;
  /**
   * Caps how fast records start, across all concurrent invocations (a token bucket in the
   * `idempotencyTable`, which it requires). A record over the limit is put back on its queue with
   * a delay instead of failing, so it spends no delivery toward `maxReceiveCount` (FIFO: see the
   * README). `key` gives one bucket per tenant or provider account.
   * @default - no rate limit: only `maxConcurrency` bounds the consumer
   */
  readonly rateLimit?: RateLimit;
  /**
   * Caps the records of one tenant in flight at once, across all concurrent invocations (leases
   * in the `idempotencyTable`, which it requires; standard sources only). A record over its
   * tenant's share is put back with a delay, spending no delivery, while others run; the consumer
   * also publishes per-tenant metrics. See the README's "Tenant fairness".
   * @default - no quota: one tenant's backlog may take every invocation
   */
  readonly tenantFairness?: TenantFairness;
  /**
   * Tracks each message as a job in this table (PENDING → RUNNING → SUCCEEDED | RETRYING |
   * DEAD_LETTERED | CANCELED), with progress and cooperative cancel for the step; the handler
   * passes `queueJobs(documentClient(dynamo))` as its definition's `jobs`. See the README's "Job tracking".
   * @default - no job tracking
   */
  readonly jobs?: QueueConsumerJobs;
  /**
   * The names of the dependency breakers its handler creates (`dependencyBreaker(name, ...)`,
   * kept in the `idempotencyTable`, which they require). Monitoring makes one alarm per name
   * that fires while that breaker is open.
   * @default - none declared: breakers still work, but no alarm watches them
   */
  readonly breakers?: readonly string[];
  /**
   * FIFO sources: when a record is dead-lettered, hold its message group: later records of the
   * group are dead-lettered at once (`GROUP_HELD`) behind it instead of running, so a replay
   * (`spool dlq replay`) applies the group in order. A held group waits for an operator (replay,
   * or `spool consumers holds --release`). Needs `idempotencyTable`. See the README's "Group hold".
   * @default false - the group moves on; its dead letter can only be applied out of order
   */
  readonly holdGroupOnDeadLetter?: boolean;
  /**
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Records per invocation: 1–10 for FIFO queues, 1–10,000 for standard ones (above 10 needs a
   * batching window).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long to gather records before invoking.
   * @default - none: invoke as soon as records arrive
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * The most concurrent invocations this event source starts (2–1000): backpressure that keeps
   * a burst from overwhelming what the consumer calls. Excess messages wait in the queue.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Retry delays for transient failures (exponential backoff with full jitter).
   * @default { base: Duration.seconds(2), cap: Duration.minutes(5) }
   */
  readonly backoff?: RetryBackoff;
  /**
   * Extra environment variables for the handler.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Service name in logs and metrics.
   * @default - the consumer name
   */
  readonly serviceName?: string;
  /**
   * CloudWatch namespace for the consumer's EMF metrics.
   * @default "Spool"
   */
  readonly metricsNamespace?: string;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A Lambda function consuming a queue with partial batch responses, bounded concurrency, and
 * Spool's failure handling wired in through its environment (dead-letter queue, receive limit,
 * backoff, idempotency table).
 */
export class QueueConsumer extends Construct {
  readonly function: SpoolFunction;
  readonly eventSource: SqsEventSource;
  readonly consumerName: string;
  /** Its name in monitoring: `monitoringName`, else the consumerName. */
  readonly monitoringName: string;
  /** The queue this consumer drains. */
  readonly source: ConsumedQueue;
  /** The function timeout (monitoring alarms when invocations come close to it). */
  readonly timeout: Duration;
  /** The event source's concurrency cap (monitoring alarms when it stays at the cap). */
  readonly maxConcurrency: number;
  /** The dependency breakers its handler declares (monitoring alarms on each while open). */
  readonly breakers: readonly string[];
  /** Whether it holds a FIFO group behind a dead-lettered record (monitoring alarms on it). */
  readonly holdGroupOnDeadLetter: boolean;
  /** Whether it holds tenants to a quota (and publishes per-tenant metrics). */
  readonly tenantFairness: boolean;
  /** The tenants whose dead letters get their own alarm (`tenantFairness.alarmTenants`). */
  readonly alarmTenants: readonly string[];
  /** Where its EMF metrics go, and their `service` dimension (monitoring reads them). */
  readonly metricsNamespace: string;
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: QueueConsumerProps) {
    super(scope, id);
    const { source } = props;
    const timeout = props.timeout ?? Duration.seconds(30);
    const batchSize = props.batchSize ?? 10;
    const maxConcurrency = props.maxConcurrency ?? 5;
    const backoff = props.backoff ?? { base: Duration.seconds(2), cap: Duration.minutes(5) };
    const idempotencyTtl = props.idempotencyTtl ?? Duration.hours(24);
    this.consumerName =
      props.consumerName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: "-" });

    this.monitoringName = props.monitoringName ?? this.consumerName;

    validate(this, props, { timeout, batchSize, maxConcurrency, backoff, idempotencyTtl });
    validateRateLimit(this, props.rateLimit, props.idempotencyTable !== undefined);
    const jobKind = validateJobs(this, props.jobs, this.consumerName);
    this.breakers = validateBreakers(this, props.breakers, props.idempotencyTable !== undefined);
    this.tenantFairness = props.tenantFairness !== undefined;
    this.holdGroupOnDeadLetter = props.holdGroupOnDeadLetter === true;
    const hasTable = props.idempotencyTable !== undefined;
    const holdEnv = groupHoldEnvironment(this, props.holdGroupOnDeadLetter, source, hasTable);
    this.alarmTenants = validateTenantFairness(this, props.tenantFairness, {
      hasIdempotencyTable: props.idempotencyTable !== undefined,
      fifo: source.fifo,
    });
    this.metricsNamespace = props.metricsNamespace ?? "Spool";
    this.serviceName = props.serviceName ?? this.consumerName;
    this.source = source;
    this.timeout = timeout;
    this.maxConcurrency = maxConcurrency;
    this.metricsNamespace = props.metricsNamespace ?? "Spool";
    this.serviceName = props.serviceName ?? this.consumerName;

    this.function = new SpoolFunction(this, "Function", {
      entry: props.entry,
      handler: props.handler ?? "handler",
      timeout,
      memorySize: props.memorySize ?? 256,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        ...props.environment,
        [CONSUMER_ENV.consumerName]: this.consumerName,
        [CONSUMER_ENV.deadLetterQueueUrl]: source.deadLetterQueue.queueUrl,
        [CONSUMER_ENV.maxReceiveCount]: Tokenization.stringifyNumber(source.maxReceiveCount),
        [CONSUMER_ENV.backoffBaseSeconds]: Tokenization.stringifyNumber(backoff.base.toSeconds()),
        [CONSUMER_ENV.backoffCapSeconds]: Tokenization.stringifyNumber(backoff.cap.toSeconds()),
        [CONSUMER_ENV.idempotencyTtlSeconds]: Tokenization.stringifyNumber(
          idempotencyTtl.toSeconds(),
        ),
        ...(props.idempotencyTable
          ? { [CONSUMER_ENV.idempotencyTable]: props.idempotencyTable.tableName }
          : {}),
        ...(props.heartbeat
          ? {
              [CONSUMER_ENV.heartbeatEverySeconds]: Tokenization.stringifyNumber(
                props.heartbeat.every.toSeconds(),
              ),
              [CONSUMER_ENV.heartbeatExtendBySeconds]: Tokenization.stringifyNumber(
                props.heartbeat.extendBy.toSeconds(),
              ),
            }
          : {}),
        ...rateLimitEnvironment(this, props.rateLimit),
        ...tenantFairnessEnvironment(props.tenantFairness),
        ...jobsEnvironment(props.jobs, jobKind),
        ...holdEnv,
        ...(props.payloadStore
          ? { [CONSUMER_ENV.payloadBucket]: props.payloadStore.bucketName }
          : {}),
        POWERTOOLS_SERVICE_NAME: this.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: this.metricsNamespace,
      },
    });

    // Receive, delete and change visibility on the source (the last for per-message backoff and
    // the heartbeat).
    source.queue.grantConsumeMessages(this.function);
    source.deadLetterQueue.grantSendMessages(this.function);
    // A standard queue's consumer sends a record back to its own queue as a new message in two
    // cases: out of attempts while another delivery holds its work (requeue.ts), and held until
    // it is due (`notBefore`). A FIFO consumer does neither (a copy would lose its group place).
    if (!source.fifo) source.queue.grantSendMessages(this.function);
    props.payloadStore?.grantRead(this.function);
    if (props.idempotencyTable) {
      // Only this consumer's own records (Powertools keys them "<consumerName>#<hash>", its rate
      // limit's buckets are "<consumerName>#rate-limit#<bucket>", its dependency breakers
      // "<consumerName>#breaker#<name>", its tenant leases "<consumerName>#tenant-quota#<tenant>",
      // its group holds "<consumerName>#group-hold#<group>"):
      // the table is shared, and one consumer must not touch another's (or a producer's) keys.
      this.function.addToRolePolicy(
        new PolicyStatement({
          actions: [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
          ],
          resources: [props.idempotencyTable.tableArn],
          conditions: {
            "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${this.consumerName}#*`] },
          },
        }),
      );
    }

    grantJobs(this.function, props.jobs, jobKind);

    this.eventSource = new SqsEventSource(source.queue, {
      batchSize,
      reportBatchItemFailures: true,
      maxConcurrency,
      ...(props.maxBatchingWindow ? { maxBatchingWindow: props.maxBatchingWindow } : {}),
    });
    this.function.addEventSource(this.eventSource);

    Validations.of(this).acknowledge(
      {
        id: "Serverless-LambdaDLQ",
        reason:
          "Invoked synchronously by its SQS event source: a failed record stays on the queue and goes to the queue's dead-letter queue (by the consumer, with metadata, or by the redrive policy).",
      },
      {
        id: "Serverless-LambdaEventSourceMappingDestination",
        reason:
          "SQS event sources support no on-failure destination; the queue's redrive policy and Spool's dead-lettering are the failure path.",
      },
    );

    if (props.heartbeat) {
      // CloudFormation's check wants a queue to hide a message for the whole function timeout;
      // the heartbeat does that instead (validate() holds the queue to every + 10 s).
      Validations.of(source.queue).acknowledge({
        id: "CloudFormation-Validate::E3505",
        reason:
          "The consumer's visibility heartbeat extends each message's visibility while the function runs, so the queue's own visibility timeout may be shorter than the function timeout.",
      });
    }

    if (!props.idempotencyTable) {
      Annotations.of(this).addWarningV2(
        "spool:consumerWithoutIdempotency",
        "QueueConsumer has no idempotencyTable: a duplicate delivery runs the business step again",
      );
    }
  }
}

interface Resolved {
  readonly timeout: Duration;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly backoff: RetryBackoff;
  readonly idempotencyTtl: Duration;
}

function validate(scope: IConstruct, props: QueueConsumerProps, r: Resolved): void {
  const { source } = props;
  const timeout = requireSeconds(
    scope,
    "timeout",
    r.timeout,
    1,
    900,
    "from 1 second to 15 minutes",
  );
  requireInteger(scope, "maxConcurrency", r.maxConcurrency, 2, 1000);
  requireInteger(scope, "memorySize", props.memorySize, 128, 10_240, " MB");
  if (source.fifo) {
    requireInteger(scope, "batchSize (FIFO source)", r.batchSize, 1, 10);
  } else {
    requireInteger(scope, "batchSize", r.batchSize, 1, 10_000);
    if (r.batchSize > 10 && props.maxBatchingWindow === undefined) {
      invalid(
        scope,
        `batchSize above 10 needs maxBatchingWindow, got batchSize ${r.batchSize} with no window`,
      );
    }
  }
  requireSeconds(scope, "maxBatchingWindow", props.maxBatchingWindow, 0, 300, "from 0 to 300 s");
  const base = requireSeconds(
    scope,
    "backoff.base",
    r.backoff.base,
    0,
    Number.POSITIVE_INFINITY,
    ">= 0 s",
  );
  const cap = secondsOf(r.backoff.cap);
  if (base !== undefined && cap !== undefined && cap < base) {
    invalid(scope, `backoff.cap must be >= backoff.base (${base} s), got ${cap} s`);
  }
  requireSeconds(
    scope,
    "backoff.cap",
    r.backoff.cap,
    0,
    43_200,
    "at most 12 hours (the SQS visibility limit)",
  );
  requireSeconds(
    scope,
    "idempotencyTtl",
    r.idempotencyTtl,
    60,
    Number.POSITIVE_INFINITY,
    "at least 60 s",
  );
  requireInteger(scope, "source.maxReceiveCount", source.maxReceiveCount, 1, 1000);
  const visibility = secondsOf(source.visibilityTimeout);
  const every = validateHeartbeat(scope, props.heartbeat);
  if (props.heartbeat) {
    // The first extension is sent `every` after the handler starts, which can be up to 10 s
    // (Lambda's init phase) after the receive; until then the queue's own timeout hides it.
    if (visibility !== undefined && every !== undefined && visibility < every + 10) {
      invalid(
        scope,
        `visibilityTimeout of the source queue must be at least heartbeat.every + 10 s (${every + 10} s) for a consumer with a heartbeat, got ${visibility} s`,
      );
    }
  } else if (visibility !== undefined && timeout !== undefined && visibility < 6 * timeout) {
    // AWS's guidance: a record may be retried within one visibility timeout by the poller, so
    // a short one lets a second invocation pick up a record the first is still working on.
    invalid(
      scope,
      `visibilityTimeout of the source queue must be at least 6x the consumer timeout (${6 * timeout} s), got ${visibility} s; or give the consumer a heartbeat, which keeps running records hidden and needs only heartbeat.every + 10 s`,
    );
  }
}

/** Checks the heartbeat's own bounds; returns `every` in seconds (undefined if absent). */
function validateHeartbeat(
  scope: IConstruct,
  heartbeat: VisibilityHeartbeat | undefined,
): number | undefined {
  if (!heartbeat) return undefined;
  // ChangeMessageVisibility takes whole seconds, up to SQS's 12-hour maximum.
  const every = requireSeconds(
    scope,
    "heartbeat.every",
    heartbeat.every,
    1,
    Number.POSITIVE_INFINITY,
    "whole seconds, at least 1 s",
    { wholeSeconds: true },
  );
  const extendBy = requireSeconds(
    scope,
    "heartbeat.extendBy",
    heartbeat.extendBy,
    1,
    43_200,
    "whole seconds, at most 12 hours (the SQS visibility limit)",
    { wholeSeconds: true },
  );
  if (every !== undefined && extendBy !== undefined && every >= extendBy) {
    // An extension that ends before the next one is sent lets the record reappear in between.
    invalid(
      scope,
      `heartbeat.every must be less than heartbeat.extendBy (${extendBy} s), got ${every} s`,
    );
  }
  return every;
}
