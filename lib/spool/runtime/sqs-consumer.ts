import {
  BatchProcessor,
  EventType,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from "@aws-lambda-powertools/batch";
import type { JSONValue } from "@aws-lambda-powertools/commons/types";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { ZodType } from "zod";
import {
  assertBackoffPolicy,
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  fullJitterDelaySeconds,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
} from "./backoff.js";
import { dynamoClient, sqsClient } from "./clients.js";
import { correlationIdOf } from "./correlation.js";
import {
  type DeadLetterMetadata,
  type DeadLetterReason,
  sendToDeadLetterQueue,
} from "./dead-letter.js";
import { classify, PermanentError, TransientError } from "./errors.js";
import { type FaultInjector, faultInjectorFromEnv } from "./faults.js";
import { KeyedSerializer } from "./keyed-serializer.js";

/** What a consumer's business step receives besides the message. */
export interface RecordContext {
  readonly messageId: string;
  readonly correlationId: string;
  /** Delivery number, 1 for the first (ApproximateReceiveCount). */
  readonly attempt: number;
  readonly messageGroupId: string | undefined;
  /** When SQS accepted the message (its SentTimestamp attribute). */
  readonly sentAt: Date;
  readonly logger: Logger;
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
  /** The business step. Throw PermanentError for business-rule failures, anything else retries. */
  readonly process: (message: M, context: RecordContext) => Promise<R>;
  /**
   * Called once a record is safely in the dead-letter queue, with its body as parsed (undefined
   * when it was not JSON; not schema-checked) and the metadata sent with it: for bookkeeping such
   * as marking a job DEAD_LETTERED. An error here is logged and never fails the record.
   * @default - nothing
   */
  readonly onDeadLettered?: (body: unknown, metadata: DeadLetterMetadata) => Promise<void>;
}

export interface ConsumerConfig {
  /** Used as the idempotency key prefix and in dead-letter metadata. */
  readonly consumerName: string;
  /** Where permanent failures and exhausted retries go, with their metadata. */
  readonly deadLetterQueueUrl: string | undefined;
  /** The source queue's maxReceiveCount: the attempt on which Spool dead-letters itself. */
  readonly maxReceiveCount: number | undefined;
  readonly backoff: BackoffPolicy;
  readonly idempotencyTable: string | undefined;
  readonly idempotencyTtlSeconds: number;
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
  readonly random: () => number;
  readonly now: () => Date;
}

export type RecordOutcome<R> =
  | { readonly status: "processed"; readonly result: R }
  | { readonly status: "duplicate"; readonly result: R }
  | {
      readonly status: "dead-lettered";
      readonly reason: DeadLetterReason;
      readonly errorCode: string;
    };

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got ${value}`);
  return n;
}

/** Reads the configuration the QueueConsumer construct writes into the function's environment. */
export function consumerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ConsumerConfig {
  return {
    consumerName: env.SPOOL_CONSUMER_NAME || env.AWS_LAMBDA_FUNCTION_NAME || "spool-consumer",
    deadLetterQueueUrl: env.SPOOL_DEAD_LETTER_QUEUE_URL || undefined,
    maxReceiveCount: positiveInt(env.SPOOL_MAX_RECEIVE_COUNT, "SPOOL_MAX_RECEIVE_COUNT"),
    backoff: assertBackoffPolicy({
      baseSeconds: Number(env.SPOOL_BACKOFF_BASE_SECONDS ?? DEFAULT_BACKOFF.baseSeconds),
      capSeconds: Number(env.SPOOL_BACKOFF_CAP_SECONDS ?? DEFAULT_BACKOFF.capSeconds),
    }),
    idempotencyTable: env.SPOOL_IDEMPOTENCY_TABLE || undefined,
    idempotencyTtlSeconds:
      positiveInt(env.SPOOL_IDEMPOTENCY_TTL_SECONDS, "SPOOL_IDEMPOTENCY_TTL_SECONDS") ?? 86_400,
  };
}

export function defaultDependencies(config: ConsumerConfig): ConsumerDependencies {
  const faults = faultInjectorFromEnv();
  const dynamo = dynamoClient(faults);
  return {
    sqs: sqsClient(),
    dynamo,
    persistenceStore: config.idempotencyTable
      ? new DynamoDBPersistenceLayer({ tableName: config.idempotencyTable, awsSdkV3Client: dynamo })
      : undefined,
    logger: new Logger(),
    metrics: new Metrics({ defaultDimensions: { consumer: config.consumerName } }),
    faults,
    random: Math.random,
    now: () => new Date(),
  };
}

function withoutCorrelationId(message: unknown): unknown {
  if (message === null || typeof message !== "object" || Array.isArray(message)) return message;
  const { correlationId: _ignored, ...rest } = message as Record<string, unknown>;
  return rest;
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new PermanentError("the message body is not valid JSON", {
      code: "MALFORMED_JSON",
      details: { parseError: (error as Error).message, bodyPreview: body.slice(0, 200) },
    });
  }
}

/** Internal: the input hashed by Powertools idempotency. */
interface IdempotentInput<M> {
  readonly key: string;
  readonly payload: unknown;
  readonly message: M;
}

/**
 * Builds an SQS Lambda handler around a business step.
 *
 * Powertools does the batch bookkeeping (partial batch response, FIFO group short-circuit) and
 * the idempotency records. What it lacks, Spool adds here: permanent failures dead-lettered at
 * once with metadata, transient failures retried after an exponential backoff with full jitter
 * (set as the record's visibility timeout), and the last allowed attempt dead-lettered with
 * metadata instead of being moved bare by the queue's redrive policy.
 */
export function createSqsConsumer<M, R>(
  definition: ConsumerDefinition<M, R>,
  config: ConsumerConfig = consumerConfigFromEnv(),
  deps: ConsumerDependencies = defaultDependencies(config),
) {
  const { logger, metrics, sqs } = deps;
  // Results the response hook returned: a stored result returned again means a duplicate.
  const duplicates = new WeakSet<object>();
  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: "key",
    payloadValidationJmesPath: "payload",
    expiresAfterSeconds: config.idempotencyTtlSeconds,
    useLocalCache: true,
    throwOnNoIdempotencyKey: true,
    // Called only when a stored result is returned instead of running the step: a duplicate.
    responseHook: (response) => {
      if (response !== null && typeof response === "object") duplicates.add(response);
      return response;
    },
  });
  // The result is stored in the idempotency record, so it must be what DynamoDB can hold: a step
  // returning nothing, or an object with an undefined field, made the update fail (marshalling
  // refuses undefined), left the record IN_PROGRESS, and let the step run again after its lease.
  // Stored as JSON, the first caller gets what a duplicate would read back.
  const runStep = async (input: IdempotentInput<M>, context: RecordContext) => {
    const value = await definition.process(input.message, context);
    return (value === undefined ? {} : { value: JSON.parse(JSON.stringify(value)) }) as {
      value: R;
    };
  };
  const idempotentInput = (message: M, key: string): IdempotentInput<M> => ({
    key,
    payload: (definition.idempotencyPayload ?? withoutCorrelationId)(message),
    message,
  });
  // Configured up front (Powertools would on first use) so a completed key can be looked up.
  deps.persistenceStore?.configure({ config: idempotencyConfig, keyPrefix: config.consumerName });

  /**
   * The stored result when this message's work is already done: a record whose deliveries keep
   * failing before they reach the idempotency check (a sibling's timeout, a flaky dependency)
   * would otherwise be dead-lettered although its effect happened.
   */
  async function completedResult(body: unknown): Promise<{ value: R } | undefined> {
    if (!deps.persistenceStore) return undefined;
    const parsed = definition.schema.safeParse(body);
    if (!parsed.success) return undefined;
    const key = definition.idempotencyKey(parsed.data);
    if (!key) return undefined;
    try {
      const input = idempotentInput(parsed.data, key) as unknown as JSONValue;
      const stored = await deps.persistenceStore.getRecord(input);
      return stored.getStatus() === "COMPLETED"
        ? (stored.getResponse() as { value: R })
        : undefined;
    } catch {
      return undefined;
    }
  }

  const idempotentStep = deps.persistenceStore
    ? makeIdempotent(runStep, {
        persistenceStore: deps.persistenceStore,
        config: idempotencyConfig,
        keyPrefix: config.consumerName,
        dataIndexArgument: 0,
      })
    : runStep;

  async function deadLetter(
    record: SQSRecord,
    error: unknown,
    reason: DeadLetterReason,
    body: unknown,
    correlationId: string,
    recordLogger: Logger,
  ): Promise<RecordOutcome<R>> {
    const failure = classify(error);
    if (!config.deadLetterQueueUrl) {
      // Without a DLQ URL the queue's redrive policy is the only way out: keep retrying.
      recordLogger.error(
        "no dead-letter queue configured; leaving the record to the redrive policy",
        { failure },
      );
      throw error;
    }
    const metadata = await sendToDeadLetterQueue(sqs, config.deadLetterQueueUrl, {
      record,
      failure,
      reason,
      correlationId,
      body,
      consumer: config.consumerName,
      now: deps.now(),
    });
    metrics.addMetric("DeadLettered", MetricUnit.Count, 1);
    recordLogger.warn("dead-lettered", { reason, failure });
    if (definition.onDeadLettered) {
      try {
        await definition.onDeadLettered(body, metadata);
      } catch (hookError) {
        recordLogger.error("onDeadLettered failed; the dead letter itself is safe", {
          error: (hookError as Error).message,
        });
      }
    }
    return { status: "dead-lettered", reason, errorCode: failure.code };
  }

  return async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    idempotencyConfig.registerLambdaContext(context);
    // An in-progress idempotency record taken now expires when this invocation could time out.
    const leaseSeconds = Math.ceil(context.getRemainingTimeInMillis() / 1000);
    // A record still running at the deadline is given up (reported failed, retried later) so
    // the invocation answers before the function times out: a timeout would throw away the
    // acknowledgement of every record of the batch that did finish.
    const deadlineAt = Date.now() + recordDeadlineMs(context.getRemainingTimeInMillis());
    const records = event.Records ?? [];
    const fifo = records[0]?.eventSourceARN.endsWith(".fifo") ?? false;
    // Some emulators leave MessageGroupId out of the event. Without it the only order-safe
    // choice is to stop the whole batch at its first failure.
    const groupsKnown = records.every((r) => r.attributes.MessageGroupId !== undefined);
    if (fifo && !groupsKnown) {
      logger.warn("FIFO records carry no MessageGroupId; a failure stops the rest of the batch");
    }
    const retryDelays = new Map<string, number>();
    const serializer = new KeyedSerializer();

    const validateAndProcess = async (
      record: SQSRecord,
      body: unknown,
      attempt: number,
      correlationId: string,
      recordLogger: Logger,
    ): Promise<RecordOutcome<R>> => {
      const parsed = definition.schema.safeParse(body);
      if (!parsed.success) {
        throw new PermanentError("the message does not match its schema", {
          code: "SCHEMA_INVALID",
          details: {
            issues: parsed.error.issues.slice(0, 5).map((i) => ({
              path: i.path.join("."),
              message: i.message,
            })),
          },
        });
      }
      const message = parsed.data;
      const key = definition.idempotencyKey(message);
      if (typeof key !== "string" || key.length === 0) {
        // Powertools would wrap this in a persistence-layer error, which reads as transient.
        throw new PermanentError("the message yields no idempotency key", {
          code: "IDEMPOTENCY_KEY_MISSING",
        });
      }
      const input = idempotentInput(message, key);
      const recordContext: RecordContext = {
        messageId: record.messageId,
        correlationId,
        attempt,
        messageGroupId: record.attributes.MessageGroupId,
        sentAt: new Date(Number(record.attributes.SentTimestamp) || deps.now().getTime()),
        logger: recordLogger,
      };
      // Records with one key run one after another, so an in-batch duplicate finds the first
      // one's stored result instead of colliding with it while it is still in progress.
      const output = await serializer.run(key, () => idempotentStep(input, recordContext));
      const duplicate = duplicates.has(output);
      metrics.addMetric(duplicate ? "DuplicatesSuppressed" : "Processed", MetricUnit.Count, 1);
      recordLogger.info(duplicate ? "duplicate suppressed" : "processed", {
        idempotencyKey: key,
      });
      return { status: duplicate ? "duplicate" : "processed", result: output.value };
    };

    const recordHandler = async (record: SQSRecord): Promise<RecordOutcome<R>> => {
      const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
      let body: unknown;
      let correlationId = correlationIdOf(record);
      let recordLogger = logger.createChild({
        persistentKeys: { messageId: record.messageId, correlationId, attempt },
      });
      try {
        // FIFO records run one after another: one that would start past the deadline does not
        // start at all (it would take an in-progress lease it cannot finish).
        if (Date.now() >= deadlineAt) {
          throw new TransientError("no time left to start this record", {
            code: "RECORD_DEADLINE",
          });
        }
        body = parseBody(record.body);
        correlationId = correlationIdOf(record, body);
        recordLogger = logger.createChild({
          persistentKeys: { messageId: record.messageId, correlationId, attempt },
        });
        const run = () => validateAndProcess(record, body, attempt, correlationId, recordLogger);
        const work = deps.faults
          ? deps.faults.runRecord(record, attempt, () => context.getRemainingTimeInMillis(), run)
          : run();
        return await beforeDeadline(work, deadlineAt);
      } catch (error) {
        const failure = classify(error);
        const exhausted = config.maxReceiveCount !== undefined && attempt >= config.maxReceiveCount;
        if (exhausted && failure.kind === "transient") {
          const done = await completedResult(body);
          if (done) {
            metrics.addMetric("DuplicatesSuppressed", MetricUnit.Count, 1);
            recordLogger.warn("out of attempts, but its work is already done: acknowledged", {
              failure,
            });
            return { status: "duplicate", result: done.value };
          }
        }
        if (failure.kind === "permanent" || exhausted) {
          const reason = failure.kind === "permanent" ? "permanent-failure" : "retries-exhausted";
          try {
            return await deadLetter(record, error, reason, body, correlationId, recordLogger);
          } catch (sendError) {
            // Could not dead-letter (no DLQ configured, SQS unavailable): retry later, with the
            // same backoff, so a short outage does not burn the record's remaining attempts.
            recordLogger.error("dead-lettering failed; the record will come back", {
              error: (sendError as Error).message,
            });
          }
        }
        // A duplicate still in progress resolves only when the other attempt finishes or its
        // lease (at most one function timeout) expires: retrying sooner just burns attempts.
        // A business step may say when to come back (retryAfterSeconds), e.g. a run's lease.
        const jitter = fullJitterDelaySeconds(attempt, config.backoff, deps.random);
        const retryAfter = Number(failure.details?.retryAfterSeconds);
        const floor =
          failure.code === "DUPLICATE_IN_PROGRESS"
            ? leaseSeconds
            : Number.isFinite(retryAfter)
              ? Math.min(Math.max(0, Math.ceil(retryAfter)), MAX_VISIBILITY_TIMEOUT_SECONDS)
              : 0;
        const delay = Math.max(jitter, floor);
        retryDelays.set(record.messageId, delay);
        metrics.addMetric("Retried", MetricUnit.Count, 1);
        recordLogger.warn("transient failure; will retry", { failure, retryInSeconds: delay });
        throw error;
      }
    };

    /**
     * FIFO records skipped behind a failed predecessor still count a delivery. One skipped on
     * its last allowed delivery would be moved bare to the DLQ by the redrive policy at the
     * next receive; dead-letter it now instead, with metadata saying why.
     */
    const deadLetterBlockedOnLastAttempt = async (
      response: SQSBatchResponse,
      ownFailures: Map<string, number>,
    ) => {
      if (config.maxReceiveCount === undefined) return;
      const max = config.maxReceiveCount;
      const blocked = records.filter(
        (r) =>
          !ownFailures.has(r.messageId) &&
          response.batchItemFailures.some((f) => f.itemIdentifier === r.messageId) &&
          (Number(r.attributes.ApproximateReceiveCount) || 1) >= max,
      );
      for (const record of blocked) {
        let body: unknown;
        try {
          body = JSON.parse(record.body);
        } catch {
          body = undefined;
        }
        const correlationId = correlationIdOf(record, body);
        const blockedError = new TransientError(
          "out of attempts while blocked behind a failed earlier message of its group",
          { code: "BLOCKED_BY_GROUP" },
        );
        try {
          await deadLetter(record, blockedError, "retries-exhausted", body, correlationId, logger);
          response.batchItemFailures = response.batchItemFailures.filter(
            (f) => f.itemIdentifier !== record.messageId,
          );
        } catch (error) {
          logger.error("could not dead-letter a blocked record", {
            error: (error as Error).message,
          });
        }
      }
    };

    try {
      const response = fifo
        ? await processPartialResponse(event, recordHandler, new SqsFifoPartialProcessorAsync(), {
            context,
            skipGroupOnError: groupsKnown,
            throwOnFullBatchFailure: false,
          })
        : await processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), {
            context,
            throwOnFullBatchFailure: false,
            processInParallel: true,
          });
      if (fifo) await deadLetterBlockedOnLastAttempt(response, retryDelays);
      await applyRetryDelays(sqs, records, response, retryDelays, logger);
      return response;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/**
 * How long records may run in an invocation with `remainingMs` left: all of it but a margin
 * (a tenth, at least 200 ms and at most 2 s) to answer the batch and set the retry delays.
 */
export function recordDeadlineMs(remainingMs: number): number {
  const margin = Math.min(2_000, Math.max(200, remainingMs / 10));
  return Math.max(0, remainingMs - margin);
}

/** The work's result, or a transient failure if the deadline comes first (the work goes on). */
async function beforeDeadline<T>(work: Promise<T>, deadlineAt: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TransientError("the record did not finish before the function's deadline", {
            code: "RECORD_DEADLINE",
          }),
        ),
      Math.max(0, deadlineAt - Date.now()),
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sets each failed record's visibility timeout: its backoff delay, or 0 for a FIFO record that
 * was only skipped behind a failed predecessor (its group stays blocked by that predecessor, and
 * holding it for the full queue visibility timeout would stall the group for no reason).
 */
async function applyRetryDelays(
  sqs: SQSClient,
  records: SQSRecord[],
  response: SQSBatchResponse,
  retryDelays: Map<string, number>,
  logger: Logger,
): Promise<void> {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const byQueue = new Map<
    string,
    { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[]
  >();
  for (const [index, record] of records.entries()) {
    if (!failed.has(record.messageId)) continue;
    const entries = byQueue.get(record.eventSourceARN) ?? [];
    entries.push({
      Id: `r${index}`,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: retryDelays.get(record.messageId) ?? 0,
    });
    byQueue.set(record.eventSourceARN, entries);
  }
  for (const [queueArn, entries] of byQueue) {
    const queueUrl = queueUrlFromArn(queueArn);
    for (let i = 0; i < entries.length; i += 10) {
      try {
        const result = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: entries.slice(i, i + 10),
          }),
        );
        if (result.Failed?.length)
          logger.warn("some retry delays were not applied", { failed: result.Failed });
      } catch (error) {
        // The record still comes back, after the queue's own visibility timeout.
        logger.warn("could not apply retry delays", { error: (error as Error).message });
      }
    }
  }
}

/** arn:aws:sqs:region:account:name → the queue URL the endpoint resolves it to. */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(":");
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS || process.env.AWS_ENDPOINT_URL;
  if (endpoint) return `${endpoint.replace(/\/$/, "")}/${account}/${name}`;
  const suffix = partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://sqs.${region}.${suffix}/${account}/${name}`;
}

/**
 * The usual way to write a handler module: configuration from the environment, clients created
 * once per container, and the business definition built with those clients.
 */
export function sqsConsumerHandler<M, R>(
  schema: ZodType<M>,
  build: (deps: ConsumerDependencies) => Omit<ConsumerDefinition<M, R>, "schema">,
) {
  const config = consumerConfigFromEnv();
  const deps = defaultDependencies(config);
  return createSqsConsumer({ schema, ...build(deps) }, config, deps);
}
