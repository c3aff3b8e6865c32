import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  type IBucket,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { Construct, type IConstruct } from "constructs";
import { invalid, secondsOf } from "../runtime/validation.js";
import { acknowledgeWildcardResources, onlyActions } from "../spool-function/nag.js";
import {
  DEFAULT_REPLAY_MARGIN_DAYS,
  PAYLOAD_BUCKET_ENV,
  PAYLOAD_KEY_PREFIX,
  SECONDS_PER_DAY,
} from "./contract.js";

/** A queue whose messages may point into the store: a ReliableQueue, or anything shaped like one. */
export interface RetainingQueue {
  /** How long the source queue keeps a message. */
  readonly retentionPeriod: Duration;
  /** How long its dead-letter queue keeps one. */
  readonly deadLetterRetentionPeriod: Duration;
}

export interface PayloadStoreProps {
  /**
   * The queues whose messages carry pointers into this store. Objects live longer than the
   * longest `retentionPeriod + deadLetterRetentionPeriod` among them, plus `replayMargin`.
   * @default - none: SQS's maxima are assumed (14 days on the queue, 14 in its DLQ)
   */
  readonly queues?: readonly RetainingQueue[];
  /**
   * Added to the longest queue-plus-DLQ retention: a dead letter replayed late starts a new stay
   * on its source queue, and its object must still be there.
   * @default Duration.days(7)
   */
  readonly replayMargin?: Duration;
  /**
   * When objects expire, counted from their last write, in whole days. Must be longer than the
   * retention + dead-letter retention of every queue in `queues`.
   * @default - the longest queue + DLQ retention plus `replayMargin`, rounded up to whole days
   */
  readonly expiration?: Duration;
  /**
   * A KMS key for SSE-KMS (with an S3 Bucket Key, so reads do not each call KMS). The grants
   * then include the key.
   * @default - SSE-S3 (S3-managed keys)
   */
  readonly encryptionKey?: IKey;
  /**
   * Where S3 writes the bucket's server access logs.
   * @default - none (acknowledged for cdk-nag: see the README)
   */
  readonly serverAccessLogsBucket?: IBucket;
  /**
   * What happens to the bucket when the stack is deleted or the bucket replaced.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** SQS's longest retention, for a store that names no queues. */
const SQS_MAX_RETENTION = Duration.days(14);

/**
 * An S3 bucket for claim-check payloads: message bodies too large to send, stored by the producer
 * and read back by the consumer from the pointer the message carries (see
 * lib/spool/runtime/payload-pointer.ts). Encrypted, TLS-only, private, and emptied by a lifecycle
 * rule that outlasts every message that may still point into it.
 */
export class PayloadStore extends Construct {
  readonly bucket: Bucket;
  /** How long an object lives after its last write. */
  readonly expiration: Duration;
  /** The environment variable a producer or consumer reads the bucket name from. */
  static readonly BUCKET_ENV = PAYLOAD_BUCKET_ENV;

  constructor(scope: Construct, id: string, props: PayloadStoreProps = {}) {
    super(scope, id);
    this.expiration = expirationOf(this, props);
    this.bucket = new Bucket(this, "Bucket", {
      encryption: props.encryptionKey ? BucketEncryption.KMS : BucketEncryption.S3_MANAGED,
      ...(props.encryptionKey
        ? { encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : {}),
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: "expire-payloads",
          expiration: this.expiration,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      ...(props.serverAccessLogsBucket
        ? { serverAccessLogsBucket: props.serverAccessLogsBucket }
        : {}),
      // See the README: a generated name, so a retained bucket never blocks the next deploy.
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    if (!props.serverAccessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: "AwsSolutions-S1",
        reason:
          "Payload objects are transient copies of message bodies, written and read only by the roles granted here; pass serverAccessLogsBucket to log every request.",
      });
    }
  }

  get bucketName(): string {
    return this.bucket.bucketName;
  }

  /**
   * Lets a Spool producer store bodies: s3:PutObject on the keys Spool writes (`sha256/*`, the
   * body's hash), and the key's GenerateDataKey. A producer using the extended clients (UUID keys)
   * needs its own grant (`bucket.grantPut`).
   */
  grantWrite(grantee: IGrantable): Grant {
    const grant = Grant.addToPrincipal({
      grantee,
      actions: ["s3:PutObject"],
      resourceArns: [this.bucket.arnForObjects(`${PAYLOAD_KEY_PREFIX}*`)],
    });
    this.bucket.encryptionKey?.grant(grantee, "kms:GenerateDataKey");
    this.acknowledgeObjectWildcard(grantee);
    return grant;
  }

  /**
   * Lets a consumer read bodies: s3:GetObject on the store's objects, and s3:ListBucket on the
   * bucket so that a missing object answers NoSuchKey (dead-lettered as PAYLOAD_UNRESOLVABLE)
   * instead of AccessDenied (which would read as a failure worth retrying).
   */
  grantRead(grantee: IGrantable): Grant {
    const grant = Grant.addToPrincipal({
      grantee,
      actions: ["s3:GetObject"],
      resourceArns: [this.bucket.arnForObjects("*")],
    });
    Grant.addToPrincipal({
      grantee,
      actions: ["s3:ListBucket"],
      resourceArns: [this.bucket.bucketArn],
    });
    this.bucket.encryptionKey?.grant(grantee, "kms:Decrypt");
    this.acknowledgeObjectWildcard(grantee);
    return grant;
  }

  /** Object keys are content hashes made at run time: a grant can only name them all. */
  private acknowledgeObjectWildcard(grantee: IGrantable): void {
    const principal = grantee.grantPrincipal as unknown;
    const scope = Construct.isConstruct(principal)
      ? principal
      : Construct.isConstruct(grantee)
        ? grantee
        : undefined;
    if (!scope) return;
    const cfnBucket = this.bucket.node.defaultChild as CfnBucket;
    acknowledgeWildcardResources(scope as IConstruct, [
      {
        matches: (resource, actions) =>
          [
            `<${Stack.of(this).resolve(cfnBucket.logicalId)}.Arn>/*`,
            `<${Stack.of(this).resolve(cfnBucket.logicalId)}.Arn>/${PAYLOAD_KEY_PREFIX}*`,
          ].includes(resource) && onlyActions(["s3:GetObject", "s3:PutObject"])(actions),
        reason:
          "Claim-check objects are named at run time by the SHA-256 of each body; the grant covers only this PayloadStore's bucket.",
      },
    ]);
  }
}

/** The lifecycle expiration: given and checked, or derived from the queues' retentions. */
function expirationOf(scope: IConstruct, props: PayloadStoreProps): Duration {
  const queues = props.queues ?? [
    { retentionPeriod: SQS_MAX_RETENTION, deadLetterRetentionPeriod: SQS_MAX_RETENTION },
  ];
  let longest = 0;
  for (const queue of queues) {
    const retention = secondsOf(queue.retentionPeriod);
    const deadLetterRetention = secondsOf(queue.deadLetterRetentionPeriod);
    if (retention === undefined || deadLetterRetention === undefined) continue;
    longest = Math.max(longest, retention + deadLetterRetention);
  }
  const margin = secondsOf(props.replayMargin); // a Duration is never negative
  const given = secondsOf(props.expiration);
  if (props.expiration === undefined) {
    const marginSeconds = margin ?? DEFAULT_REPLAY_MARGIN_DAYS * SECONDS_PER_DAY;
    return Duration.days(Math.ceil((longest + marginSeconds) / SECONDS_PER_DAY));
  }
  if (given === undefined) return props.expiration;
  if (given <= 0 || given % SECONDS_PER_DAY !== 0) {
    invalid(scope, `expiration must be a whole number of days (S3 lifecycle), got ${given} s`);
  }
  if (given <= longest) {
    invalid(
      scope,
      `expiration must be longer than the longest retentionPeriod + deadLetterRetentionPeriod of its queues (${longest / SECONDS_PER_DAY} days), got ${given / SECONDS_PER_DAY} days`,
    );
  }
  return props.expiration;
}
