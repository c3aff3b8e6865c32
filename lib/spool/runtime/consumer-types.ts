import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { ZodType } from "zod";
import type { DeadLetterMetadata, DeadLetterReason } from "./dead-letter.js";
import type { EffectFence } from "./effect-fence.js";
import type { ErrorCode } from "./error-codes.js";
import type { FaultInjector } from "./faults.js";
import type { QueueJobs } from "./job-port.js";

export type { JobDelivery, JobProgressReport, JobStart, QueueJobs } from "./job-port.js";

import type { PayloadObjects } from "./payload-pointer.js";

/**
 * The shapes of an SQS consumer: what a handler author defines (the business step and its
 * message), what the record pipeline (sqs-consumer.ts) depends on, and what it reports per record.
 * Types only, so a business step's module can name them without loading the pipeline.
 */

/** What a consumer's business step receives besides the message. */
export interface RecordContext {
  readonly messageId: string;
  readonly correlationId: string;
  /** Delivery number, 1 for the first (ApproximateReceiveCount). */
  readonly attempt: number;
  readonly messageGroupId: string | undefined;
  /** The record's tenant (tenant.ts), when it has one: what a message it sends on should carry. */
  readonly tenantId?: string | undefined;
  /** When SQS accepted the message (its SentTimestamp attribute). */
  readonly sentAt: Date;
  readonly logger: Logger;
  /**
   * Records how far the step got on its job (`done` of `total`, and a note) for `spool jobs show`.
   * A conditional write that changes nothing once the job finished or was canceled; one cheap
   * UpdateItem, fine once per chunk. Does nothing when the consumer tracks no jobs.
   */
  readonly reportProgress: (done: number, total: number, note?: string) => Promise<void>;
  /**
   * Whether an operator canceled this message's job (`spool jobs cancel`): a consistent read of
   * the job. Check it between chunks and return (or throw) when true: the record is then
   * acknowledged, neither retried nor dead-lettered, and the job stays CANCELED. Always false
   * when the consumer tracks no jobs.
   */
  readonly cancelled: () => Promise<boolean>;
  /**
   * Milliseconds the record has left before its batch must answer (the invocation's time less a
   * margin, record-deadline.ts): how a step that continues in another message (continuation.ts)
   * knows to stop. Undefined outside a Lambda queue consumer.
   */
  readonly remainingMillis?: () => number;
  /** The queue the record came from, where a continuation goes. Undefined outside one. */
  readonly queueUrl?: string;
  /**
   * Pass to `writeFenced` (effect-fence.ts) with the step's DynamoDB effect: the effect then
   * commits only while this delivery still holds the message, so a record given up at its
   * deadline and dead-lettered cannot also get its effect. Undefined without an idempotency
   * table (writeFenced then writes plainly).
   */
  readonly effectFence?: EffectFence;
}

export interface ConsumerDefinition<M, R> {
  /** Validates the JSON body. A body that fails is a permanent failure: dead-lettered at once. */
  readonly schema: ZodType<M>;
  /**
   * The stable business key of a message (an order id and sequence, a notification id).
   * Not the SQS message id: a producer that re-sends gets a new message id for the same work.
   */
  readonly idempotencyKey: (message: M) => string;
  /**
   * What must be equal for a repeated key to count as the same message; a repeated key with
   * different content is refused as a permanent failure.
   * @default the whole message without its correlationId
   */
  readonly idempotencyPayload?: (message: M) => unknown;
  /**
   * The earliest time the message may be processed (a delayed task's due time). One that arrives
   * earlier is held until then (see retry-delays.ts): the step does not run, no idempotency record
   * is taken, no failure is counted.
   * @default - no constraint
   */
  readonly notBefore?: (message: M) => Date | string | undefined;
  /**
   * Whether this message's effect already happened, read where the effect records it (the item a
   * conditional write left). Asked only before dead-lettering a record out of attempts after a
   * transient failure, when its idempotency record does not say COMPLETED: an earlier delivery
   * may have done the effect and died before completing that record, and a dead letter for
   * finished work sends an operator after nothing. An error here counts as "not known to be done".
   * @default - only the idempotency record is consulted
   */
  readonly isDone?: (message: M) => Promise<boolean>;
  /** The business step. Throw PermanentError for business-rule failures, anything else retries. */
  readonly process: (message: M, context: RecordContext) => Promise<R>;
  /**
   * Called once a record is safely in the dead-letter queue, with its body as parsed (undefined
   * when it was not JSON; not schema-checked) and the metadata sent with it: for bookkeeping such
   * as marking a job DEAD_LETTERED. An error here is logged and never fails the record.
   * @default - nothing
   */
  readonly onDeadLettered?: (body: unknown, metadata: DeadLetterMetadata) => Promise<void>;
  /**
   * Tracks each message as a job in a job table (`queueJobs()` of the job-table construct's
   * runtime, given the table the QueueConsumer's `jobs` prop names): job id
   * `<kind>:<idempotency key>`, moved RUNNING, SUCCEEDED, RETRYING, DEAD_LETTERED; a message
   * whose job is CANCELED is dropped; the step gets working `reportProgress` and `cancelled`.
   * See job-tracking.ts.
   * @default - no job tracking
   */
  readonly jobs?: QueueJobs;
  /**
   * The key the message's job is named by (`<kind>:<job key>`), when it is not the idempotency
   * key: the messages of a job done in chunks (continuation.ts) each have their own idempotency
   * key and share this one, so they progress, finish and cancel one job.
   * @default the idempotency key
   */
  readonly jobKey?: (message: M) => string;
}

export interface ConsumerDependencies {
  readonly sqs: SQSClient;
  /** Shared with the business step, so injected DynamoDB faults reach both. */
  readonly dynamo: DynamoDBClient;
  /** Undefined when the config names no idempotency table (then every delivery is processed). */
  readonly persistenceStore: BasePersistenceLayer | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly faults: FaultInjector | undefined;
  /**
   * Reads claim-check objects from the payload store the config names (payload-pointer.ts).
   * Required when `payloadBucket` is configured (the Lambda defaults give the S3 adapter,
   * payload-objects-s3.ts); unused otherwise.
   */
  readonly payloadObjects?: PayloadObjects | undefined;
  readonly random: () => number;
  readonly now: () => Date;
}

export type RecordOutcome<R> =
  | { readonly status: "processed"; readonly result: R }
  | { readonly status: "duplicate"; readonly result: R }
  /** Arrived before its `notBefore`: sent again with this delay (standard queues). */
  | { readonly status: "held"; readonly delaySeconds: number }
  /**
   * Over its rate limit, or its dependency's breaker open: sent again with this delay (standard
   * queues; see rate-limit.ts and circuit-breaker.ts).
   */
  | { readonly status: "deferred"; readonly delaySeconds: number }
  /** Out of attempts, its effect already done (`isDone`): acknowledged, no dead letter. */
  | { readonly status: "already-done" }
  /** Out of attempts while another delivery held its work: sent again after this delay. */
  | { readonly status: "requeued"; readonly delaySeconds: number }
  /** Its job is CANCELED: dropped on arrival, or stopped by its step (job-tracking.ts). */
  | { readonly status: "canceled"; readonly jobId: string; readonly onArrival: boolean }
  | {
      readonly status: "dead-lettered";
      readonly reason: DeadLetterReason;
      readonly errorCode: ErrorCode;
    };
