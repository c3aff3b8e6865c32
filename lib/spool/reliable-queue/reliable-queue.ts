import {
  Annotations,
  Duration,
  Names,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from "aws-cdk-lib";
import type { IKey } from "aws-cdk-lib/aws-kms";
import {
  DeduplicationScope,
  FifoThroughputLimit,
  Queue,
  QueueEncryption,
  RedrivePermission,
} from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";
import { invalid, requireInteger, requireSeconds } from "../runtime/validation.js";

export interface ReliableQueueProps {
  /**
   * The queue's name. For a FIFO queue `.fifo` is appended when missing.
   * @default - a name unique to this construct's path (always explicit, so FIFO queues get the
   * `.fifo` suffix they need and the dead-letter queue can name its source without a cycle)
   */
  readonly queueName?: string;

  /**
   * A FIFO queue: exactly-once enqueue within 5 minutes and ordering per message group.
   * @default false
   */
  readonly fifo?: boolean;

  /**
   * FIFO only: deduplicate by a SHA-256 of the body when the producer gives no deduplication id.
   * @default false
   */
  readonly contentBasedDeduplication?: boolean;

  /**
   * FIFO only: high-throughput mode (deduplication and throughput limit per message group).
   * @default false
   */
  readonly highThroughputFifo?: boolean;

  /**
   * How long a received message stays hidden. Must be at least 6× the timeout of the function
   * that consumes it (the QueueConsumer construct checks this).
   * @default Duration.minutes(3) - 6× a 30 s consumer
   */
  readonly visibilityTimeout?: Duration;

  /**
   * How long the source queue keeps a message. Must be shorter than the dead-letter queue's.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;

  /**
   * How long the dead-letter queue keeps a message.
   * @default Duration.days(14) - the SQS maximum, so an operator has two weeks to act
   */
  readonly deadLetterRetentionPeriod?: Duration;

  /**
   * Deliveries before SQS moves a message to the dead-letter queue (1–1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * Delay before every new message becomes visible (0–15 minutes).
   * @default Duration.seconds(0)
   */
  readonly deliveryDelay?: Duration;

  /**
   * Server-side encryption. KMS needs `encryptionMasterKey`.
   * @default QueueEncryption.KMS when `encryptionMasterKey` is given, else SQS_MANAGED
   */
  readonly encryption?: QueueEncryption;

  /**
   * The KMS key for `QueueEncryption.KMS`.
   * @default - none
   */
  readonly encryptionMasterKey?: IKey;

  /**
   * What happens to both queues when the stack is deleted.
   * @default RemovalPolicy.DESTROY - a queue holds work in flight, not records of truth
   */
  readonly removalPolicy?: RemovalPolicy;
}

const MAX_QUEUE_NAME = 80;
const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
const DLQ_SUFFIX = "-dlq";

/**
 * An SQS queue that cannot lose a message silently: it always has a dead-letter queue of the
 * same kind, keeps dead letters longer than the source keeps messages, encrypts at rest, and
 * refuses plain-HTTP access.
 */
export class ReliableQueue extends Construct {
  /** The source queue. */
  readonly queue: Queue;
  /** Where messages go after `maxReceiveCount` deliveries (and where Spool consumers send poison). */
  readonly deadLetterQueue: Queue;
  readonly maxReceiveCount: number;
  readonly fifo: boolean;
  readonly visibilityTimeout: Duration;
  /** How long the source queue keeps a message (a PayloadStore keeps bodies longer than this plus the DLQ's). */
  readonly retentionPeriod: Duration;
  /** How long the dead-letter queue keeps a message (its expiry alarms are measured against it). */
  readonly deadLetterRetentionPeriod: Duration;

  constructor(scope: Construct, id: string, props: ReliableQueueProps = {}) {
    super(scope, id);

    const fifo = props.fifo ?? false;
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const retentionPeriod = props.retentionPeriod ?? Duration.days(4);
    const deadLetterRetentionPeriod = props.deadLetterRetentionPeriod ?? Duration.days(14);
    const visibilityTimeout = props.visibilityTimeout ?? Duration.minutes(3);
    // A key without an explicit encryption means KMS with that key, as for CDK's own Queue.
    const encryption =
      props.encryption ??
      (props.encryptionMasterKey ? QueueEncryption.KMS : QueueEncryption.SQS_MANAGED);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    validate(this, props, {
      fifo,
      maxReceiveCount,
      retentionPeriod,
      deadLetterRetentionPeriod,
      encryption,
    });

    const suffix = fifo ? ".fifo" : "";
    const baseName =
      props.queueName?.replace(/\.fifo$/, "") ??
      Names.uniqueResourceName(this, {
        maxLength: MAX_QUEUE_NAME - DLQ_SUFFIX.length - ".fifo".length,
        separator: "-",
      });
    const queueName = `${baseName}${suffix}`;
    const deadLetterQueueName = `${baseName}${DLQ_SUFFIX}${suffix}`;
    if (!Token.isUnresolved(baseName)) {
      if (`${baseName}${DLQ_SUFFIX}${suffix}`.length > MAX_QUEUE_NAME) {
        invalid(
          this,
          `queueName must leave room for "${DLQ_SUFFIX}${suffix}" within ${MAX_QUEUE_NAME} characters, got "${props.queueName}" (${props.queueName?.length} characters)`,
        );
      }
    }

    const fifoOptions = fifo
      ? {
          fifo: true,
          contentBasedDeduplication: props.contentBasedDeduplication ?? false,
          ...(props.highThroughputFifo
            ? {
                deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
                fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
              }
            : {}),
        }
      : {};
    const encryptionOptions = {
      encryption,
      ...(props.encryptionMasterKey ? { encryptionMasterKey: props.encryptionMasterKey } : {}),
    };

    // The source's ARN is built from its name, not referenced, so the dead-letter queue can
    // allow exactly this source without a dependency cycle between the two queues.
    const sourceArn = Stack.of(this).formatArn({ service: "sqs", resource: queueName });
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      queueName: deadLetterQueueName,
      retentionPeriod: deadLetterRetentionPeriod,
      enforceSSL: true,
      redriveAllowPolicy: {
        redrivePermission: RedrivePermission.BY_QUEUE,
        sourceQueues: [Queue.fromQueueArn(this, "SourceQueueRef", sourceArn)],
      },
      removalPolicy,
      ...fifoOptions,
      ...encryptionOptions,
    });

    this.queue = new Queue(this, "Queue", {
      queueName,
      retentionPeriod,
      visibilityTimeout,
      enforceSSL: true,
      ...(props.deliveryDelay ? { deliveryDelay: props.deliveryDelay } : {}),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy,
      ...fifoOptions,
      ...encryptionOptions,
    });

    Validations.of(this.deadLetterQueue).acknowledge(
      {
        id: "Serverless-SQSRedrivePolicy",
        reason:
          "This is the dead-letter queue: it keeps failed messages (14 days) for operators to inspect and replay.",
      },
      {
        id: "AwsSolutions-SQS3",
        reason:
          "This is the dead-letter queue of its source queue; a DLQ of a DLQ would only move the problem.",
      },
    );

    this.maxReceiveCount = maxReceiveCount;
    this.fifo = fifo;
    this.visibilityTimeout = visibilityTimeout;
    this.retentionPeriod = retentionPeriod;
    this.deadLetterRetentionPeriod = deadLetterRetentionPeriod;

    if (fifo && !props.contentBasedDeduplication) {
      Annotations.of(this).addInfo(
        "FIFO queue without content-based deduplication: producers must send a MessageDeduplicationId",
      );
    }
  }
}

interface Resolved {
  readonly fifo: boolean;
  readonly maxReceiveCount: number;
  readonly retentionPeriod: Duration;
  readonly deadLetterRetentionPeriod: Duration;
  readonly encryption: QueueEncryption;
}

function validate(scope: IConstruct, props: ReliableQueueProps, r: Resolved): void {
  requireInteger(scope, "maxReceiveCount", r.maxReceiveCount, 1, 1000);
  if (props.queueName !== undefined && !Token.isUnresolved(props.queueName)) {
    if (!QUEUE_NAME_PATTERN.test(props.queueName.replace(/\.fifo$/, ""))) {
      invalid(
        scope,
        `queueName may hold only letters, digits, hyphens and underscores (plus a final ".fifo"), got "${props.queueName}"`,
      );
    }
    if (props.queueName.endsWith(".fifo") && !r.fifo) {
      invalid(
        scope,
        `queueName ends in ".fifo" but fifo is false, got queueName "${props.queueName}"`,
      );
    }
  }
  if (!r.fifo && props.contentBasedDeduplication) {
    invalid(
      scope,
      "contentBasedDeduplication needs a FIFO queue, got contentBasedDeduplication true with fifo false",
    );
  }
  if (!r.fifo && props.highThroughputFifo) {
    invalid(
      scope,
      "highThroughputFifo needs a FIFO queue, got highThroughputFifo true with fifo false",
    );
  }
  const max = Duration.days(14).toSeconds();
  const retention = requireSeconds(
    scope,
    "retentionPeriod",
    r.retentionPeriod,
    60,
    max,
    "from 60 seconds to 14 days",
  );
  const dlqRetention = requireSeconds(
    scope,
    "deadLetterRetentionPeriod",
    r.deadLetterRetentionPeriod,
    60,
    max,
    "from 60 seconds to 14 days",
  );
  if (retention !== undefined && dlqRetention !== undefined && dlqRetention <= retention) {
    // SQS keeps a standard message's original enqueue time when it moves to the DLQ, so a DLQ
    // that keeps messages no longer than the source can expire a dead letter on arrival.
    invalid(
      scope,
      `deadLetterRetentionPeriod must be longer than retentionPeriod (${retention} s), got ${dlqRetention} s`,
    );
  }
  requireSeconds(scope, "deliveryDelay", props.deliveryDelay, 0, 900, "from 0 to 15 minutes");
  requireSeconds(
    scope,
    "visibilityTimeout",
    props.visibilityTimeout,
    0,
    43_200,
    "at most 12 hours",
  );
  if (r.encryption === QueueEncryption.UNENCRYPTED) {
    invalid(
      scope,
      "encryption must not be UNENCRYPTED: Spool queues are always encrypted at rest, got UNENCRYPTED",
    );
  }
  if (props.encryptionMasterKey && r.encryption !== QueueEncryption.KMS) {
    invalid(scope, `encryptionMasterKey needs encryption KMS, got encryption ${r.encryption}`);
  }
}
