import {
  BatchProcessor,
  EventType,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from "@aws-lambda-powertools/batch";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import type { Logger } from "@aws-lambda-powertools/logger";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { ZodType } from "zod";
import { openDependencyRetryAfter } from "./breaker-policy.js";
import { CONSUMER_ENV, type ConsumerConfig, consumerConfigFromEnv } from "./consumer-config.js";
import { defaultDependencies } from "./consumer-dependencies.js";
import type { ConsumerDefinition, ConsumerDependencies, RecordOutcome } from "./consumer-types.js";
import { correlationIdOf } from "./correlation.js";
import { deadLettering } from "./dead-lettering.js";
import { type EffectFence, giveUp } from "./effect-fence.js";
import { ConfigurationError } from "./env.js";
import { classify, PermanentError, TransientError } from "./errors.js";
import { completionMatters, decideFailure, type FailureFacts } from "./failure-policy.js";
import { type IdempotentInput, workAlreadyDone } from "./finished-work.js";
import { groupHoldFor, groupHoldGuard } from "./group-hold.js";
import { startHeartbeat } from "./heartbeat.js";
import { canPlaceRecords } from "./idempotency-store.js";
import { jobTracking, type StepContext } from "./job-tracking.js";
import { KeyedSerializer } from "./keyed-serializer.js";
import { parseBody, parseBodyOrUndefined, withoutCorrelationId } from "./message-body.js";
import { resolveBody } from "./payload-pointer.js";
import {
  type Admit,
  DeferredToQueue,
  deferralOf,
  deferralSeconds,
  rateLimiterFor,
} from "./rate-limit.js";
import { beforeDeadline, recordDeadlineMs, startBeforeDeadline } from "./record-deadline.js";
import { replayLogKeys } from "./replay-marker.js";
import { requeue, requeuesOf } from "./requeue.js";
import {
  applyRetryDelays,
  HeldOnQueue,
  holdUntilDue,
  queueUrlFromArn,
  secondsUntil,
} from "./retry-delays.js";
import { tenantOf } from "./tenant.js";
import { tenantMetricsFor } from "./tenant-metrics.js";
import { admitTenant, tenantBatch, tenantQuotaFor } from "./tenant-quota.js";

// The consumer's configuration and queue URLs have their own SDK-free or SQS-only modules; they
// stay importable from here, where handler authors look first.
export { type ConsumerConfig, consumerConfigFromEnv } from "./consumer-config.js";
export { defaultDependencies } from "./consumer-dependencies.js";

export type {
  ConsumerDefinition,
  ConsumerDependencies,
  JobDelivery,
  QueueJobs,
  RecordContext,
  RecordOutcome,
} from "./consumer-types.js";
export { queueUrlFromArn } from "./retry-delays.js";

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
  const jobs = jobTracking(definition, deps);
  const runStep = async (input: IdempotentInput<M>, context: StepContext, admit?: Admit) => {
    await admit?.(); // the rate limit, if any (rate-limit.ts): not hashed, not stored
    // As a job, if the consumer tracks jobs (job-tracking.ts): RUNNING, then SUCCEEDED.
    const jobKey = definition.jobKey?.(input.message) ?? input.key;
    const value = await jobs.run(jobKey, context, (ctx) => definition.process(input.message, ctx));
    return storedResult(value) as { value: R };
  };
  const idempotentInput = (message: M, key: string): IdempotentInput<M> => ({
    key,
    payload: (definition.idempotencyPayload ?? withoutCorrelationId)(message),
    message,
  });
  // Configured up front (Powertools would on first use) so a completed key can be looked up.
  deps.persistenceStore?.configure({ config: idempotencyConfig, keyPrefix: config.consumerName });
  const rateLimiter = rateLimiterFor(config, deps);
  const tenantQuota = tenantQuotaFor(config, deps);
  const tenantMetrics = tenantMetricsFor(config, metrics);
  // Claim-check pointers are read from this bucket only (payload-pointer.ts).
  const payloadStore = { bucket: config.payloadBucket, objects: deps.payloadObjects };
  if (config.payloadBucket !== undefined && deps.payloadObjects === undefined) {
    throw new ConfigurationError(
      `${CONSUMER_ENV.payloadBucket} names a payload store, but the consumer was given no payloadObjects to read it with (sqsConsumerHandler's defaults give the S3 adapter when the function's bundle was built with the variable, as QueueConsumer's payloadStore does; otherwise pass them in its dependencies)`,
    );
  }

  const finishedWork = (body: unknown) =>
    workAlreadyDone<M, R>(body, definition, deps.persistenceStore, idempotentInput);

  const idempotentStep = deps.persistenceStore
    ? makeIdempotent(runStep, {
        persistenceStore: deps.persistenceStore,
        config: idempotencyConfig,
        keyPrefix: config.consumerName,
        dataIndexArgument: 0,
      })
    : runStep;

  const deadLetter = deadLettering({ config, definition, deps, jobs, tenantMetrics });
  // FIFO groups held behind a dead-lettered record until a replay (group-hold.ts), if configured.
  const groupHold = groupHoldFor(config, deps, deadLetter);

  return async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    idempotencyConfig.registerLambdaContext(context);
    // An in-progress idempotency record taken now expires when this invocation could time out.
    const leaseSeconds = Math.ceil(context.getRemainingTimeInMillis() / 1000);
    // See record-deadline.ts: the batch must answer before the function times out.
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
    // Each record's effect fence (effect-fence.ts), once its idempotency record is known.
    const fences = new Map<string, EffectFence>();
    const tenants = tenantBatch(deps.now(), context.getRemainingTimeInMillis(), records);
    // See heartbeat.ts: keeps every record of the batch hidden while it waits or runs.
    const heartbeat = startHeartbeat(sqs, records, config.heartbeat, { logger, metrics });
    const serializer = new KeyedSerializer();
    const decide = (facts: FailureFacts, completed: boolean, requeues = 0) =>
      decideFailure({
        ...facts,
        completed,
        leaseSeconds,
        backoff: config.backoff,
        random: deps.random,
        fifo,
        requeues,
      });

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
      const early = secondsUntil(definition.notBefore?.(message), deps.now());
      if (early > 0) {
        const delaySeconds = await holdUntilDue(sqs, record, early);
        metrics.addMetric("Held", MetricUnit.Count, 1);
        recordLogger.info("not yet due: sent again with a delay", { delaySeconds });
        return { status: "held", delaySeconds };
      }
      // The tenant's in-flight quota (tenant-quota.ts), before the idempotency record is taken,
      // so a deferred record costs none of its writes.
      const deferred = await admitTenant(tenantQuota, { record, body, batch: tenants });
      if (deferred) return { status: "deferred", delaySeconds: deferred.delaySeconds };
      const input = idempotentInput(message, key);
      const store = deps.persistenceStore;
      const effectFence = canPlaceRecords(store)
        ? { record: store.recordRefOf(input, storedResult), holder: record.messageId }
        : undefined;
      if (effectFence) fences.set(record.messageId, effectFence);
      const recordContext: StepContext = {
        effectFence,
        messageId: record.messageId,
        correlationId,
        attempt,
        messageGroupId: record.attributes.MessageGroupId,
        tenantId: tenantOf(record, body),
        sentAt: new Date(Number(record.attributes.SentTimestamp) || deps.now().getTime()),
        logger: recordLogger,
        remainingMillis: () => Math.max(0, deadlineAt - Date.now()),
        queueUrl: queueUrlFromArn(record.eventSourceARN),
      };
      // Records with one key run one after another, so an in-batch duplicate finds the first
      // one's stored result instead of colliding with it while it is still in progress.
      // Checked again inside the lease, right before the step: a wait may have outlasted it.
      const admit = async () => {
        await rateLimiter?.admit({ record, body, attempt, deadlineAt });
        startBeforeDeadline(deadlineAt);
      };
      const output = await serializer
        .run(key, () => idempotentStep(input, recordContext, admit))
        .catch((error: unknown) => jobs.outcomeOf(error) ?? deferralOf(error));
      if (output instanceof DeferredToQueue)
        return { status: "deferred", delaySeconds: output.delaySeconds };
      if ("status" in output) return output; // its job settled it: canceled, or already finished
      const duplicate = duplicates.has(output);
      if (!duplicate) tenantMetrics?.processed(tenantOf(record, body), record, deps.now());
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
      // A replayed record's lines name its replay ("processed" included): see replay-marker.ts.
      const replayKeys = replayLogKeys(record.messageAttributes);
      let recordLogger = logger.createChild({
        persistentKeys: { messageId: record.messageId, correlationId, attempt, ...replayKeys },
      });
      try {
        // FIFO records run one after another: one that would start past the deadline does not
        // start at all (it would take an in-progress lease it cannot finish).
        startBeforeDeadline(deadlineAt);
        // A pointer is resolved before anything reads the body; the dead letter keeps the pointer.
        body = parseBody(await resolveBody(record.body, record.messageAttributes, payloadStore));
        correlationId = correlationIdOf(record, body);
        recordLogger = logger.createChild({
          persistentKeys: { messageId: record.messageId, correlationId, attempt, ...replayKeys },
        });
        // Whatever ran first (fault injection's slow start) may have taken it past the deadline.
        const run = async () => {
          startBeforeDeadline(deadlineAt);
          return validateAndProcess(record, body, attempt, correlationId, recordLogger);
        };
        const work = deps.faults
          ? deps.faults.runRecord(record, attempt, () => context.getRemainingTimeInMillis(), run)
          : run();
        return await beforeDeadline(work, deadlineAt, leaseSeconds);
      } catch (error) {
        if (error instanceof HeldOnQueue) {
          // Not a failure: back on the queue when it is due (its FIFO group waits behind it).
          retryDelays.set(record.messageId, error.delaySeconds);
          metrics.addMetric("Held", MetricUnit.Count, 1);
          recordLogger.info("not yet due: held on the queue", { delaySeconds: error.delaySeconds });
          throw error;
        }
        const openFor = openDependencyRetryAfter(error);
        if (openFor !== undefined && !fifo) {
          // A dependency's breaker is open (circuit-breaker.ts): the record did nothing, so it
          // comes back as a copy after the cool-down that starts at receive count 1, as a rate
          // limit's deferral does. FIFO records take the failure policy's retry (in place).
          try {
            const seconds = deferralSeconds(openFor * 1000, deps.random);
            const delaySeconds = await holdUntilDue(sqs, record, seconds);
            recordLogger.info("dependency unavailable (circuit open): deferred", { delaySeconds });
            return { status: "deferred", delaySeconds };
          } catch (sendError) {
            recordLogger.warn("could not defer the record; it is retried instead", {
              error: (sendError as Error).message,
            });
          }
        }
        const failure = classify(error);
        const facts: FailureFacts = { failure, attempt, maxReceiveCount: config.maxReceiveCount };
        // A record given up before it started (no time left to start it) was never read: read
        // it now, or its completion cannot be looked up and done work would be dead-lettered.
        if (body === undefined && completionMatters(facts)) {
          body = await resolveBody(record.body, record.messageAttributes, payloadStore)
            .then(parseBodyOrUndefined)
            .catch(() => undefined);
        }
        const done = completionMatters(facts) ? await finishedWork(body) : undefined;
        const decision = decide(facts, done !== undefined, requeuesOf(record));
        if (done && decision.action === "acknowledge-duplicate") {
          metrics.addMetric("DuplicatesSuppressed", MetricUnit.Count, 1);
          recordLogger.warn("out of attempts, but its work is already done: acknowledged", {
            failure,
          });
          return "stored" in done
            ? { status: "duplicate", result: done.stored.value }
            : { status: "already-done" };
        }
        if (decision.action === "requeue") {
          try {
            await requeue(sqs, record, decision.delaySeconds);
            metrics.addMetric("Requeued", MetricUnit.Count, 1);
            recordLogger.warn("out of attempts while another delivery holds its work: sent again", {
              failure,
              delaySeconds: decision.delaySeconds,
            });
            return { status: "requeued", delaySeconds: decision.delaySeconds };
          } catch (sendError) {
            recordLogger.error("could not send it again; dead-lettering instead", {
              error: (sendError as Error).message,
            });
            return await deadLetter(
              record,
              error,
              "retries-exhausted",
              body,
              correlationId,
              recordLogger,
            );
          }
        }
        let delay = decision.action === "retry" ? decision.delaySeconds : 0;
        if (decision.action === "dead-letter") {
          try {
            // Its step may still be running (the deadline gave it up): fence its effect first.
            const fence = failure.code === "RECORD_DEADLINE" && fences.get(record.messageId);
            // A committed effect is the work, unless the consumer says more follows it (isDone):
            // then that is asked again, and work not yet done is dead-lettered for a replay to
            // finish (the replay meets the committed effect as a duplicate).
            const committed = fence && (await giveUp(deps.dynamo, fence)) === "committed";
            if (committed && (!definition.isDone || (await finishedWork(body)))) {
              metrics.addMetric("DuplicatesSuppressed", MetricUnit.Count, 1);
              recordLogger.warn("out of attempts at its deadline, but its effect committed", {
                failure,
              });
              return { status: "already-done" };
            }
            return await deadLetter(
              record,
              error,
              decision.reason,
              body,
              correlationId,
              recordLogger,
            );
          } catch (sendError) {
            // Could not dead-letter (no DLQ configured, SQS unavailable): retry later.
            recordLogger.error("dead-lettering failed; the record will come back", {
              error: (sendError as Error).message,
            });
            delay = decision.fallbackDelaySeconds;
          }
        }
        retryDelays.set(record.messageId, delay);
        metrics.addMetric("Retried", MetricUnit.Count, 1);
        recordLogger.warn("transient failure; will retry", { failure, retryInSeconds: delay });
        await jobs.retrying(
          error,
          { messageId: record.messageId, correlationId, attempt },
          failure,
        );
        throw error;
      } finally {
        await heartbeat.stop(record.messageId);
      }
    };

    /**
     * FIFO records skipped behind a failed predecessor still count a delivery. One skipped on
     * its last allowed delivery would be moved bare to the DLQ by the redrive policy at the
     * next receive; dead-letter it now instead, with metadata saying why. The others come back
     * as the failure policy says (at once: their group waits for its head).
     */
    const handleSkipped = async (response: SQSBatchResponse, ownFailures: Set<string>) => {
      const skipped = records.filter(
        (r) =>
          !ownFailures.has(r.messageId) &&
          response.batchItemFailures.some((f) => f.itemIdentifier === r.messageId),
      );
      for (const record of skipped) {
        const facts: FailureFacts = {
          failure: { kind: "transient", code: "BLOCKED_BY_GROUP" },
          attempt: Number(record.attributes.ApproximateReceiveCount) || 1,
          maxReceiveCount: config.maxReceiveCount,
        };
        // Completion is not looked up: the record did not run in this invocation, and a replay
        // of a dead letter whose work was done is answered from its idempotency record anyway.
        const decision = decide(facts, false);
        if (decision.action === "retry") retryDelays.set(record.messageId, decision.delaySeconds);
        if (decision.action !== "dead-letter") continue;
        const body = parseBodyOrUndefined(record.body);
        const correlationId = correlationIdOf(record, body);
        const blockedError = new TransientError(
          "out of attempts while blocked behind a failed earlier message of its group",
          { code: "BLOCKED_BY_GROUP" },
        );
        try {
          await deadLetter(record, blockedError, decision.reason, body, correlationId, logger);
          await guard?.deadLettered(record);
          response.batchItemFailures = response.batchItemFailures.filter(
            (f) => f.itemIdentifier !== record.messageId,
          );
        } catch (error) {
          logger.error("could not dead-letter a blocked record", {
            error: (error as Error).message,
          });
          retryDelays.set(record.messageId, decision.fallbackDelaySeconds);
        }
      }
    };

    const guard = fifo && groupHold ? groupHoldGuard(recordHandler, groupHold) : undefined;
    const fifoHandler = guard?.handle ?? recordHandler;
    try {
      const batch = fifo
        ? processPartialResponse(event, fifoHandler, new SqsFifoPartialProcessorAsync(), {
            context,
            skipGroupOnError: groupsKnown,
            throwOnFullBatchFailure: false,
          })
        : processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), {
            context,
            throwOnFullBatchFailure: false,
            processInParallel: true,
          });
      // Records skipped behind a failed predecessor never ran: their heartbeat ends with the
      // batch, before their retry delays are set.
      // The batch's tenant leases go back once all its records are done (tenant-quota.ts).
      const response = await batch.finally(() =>
        Promise.all([heartbeat.stopAll(), tenantQuota?.release(tenants)]),
      );
      if (fifo) await handleSkipped(response, new Set(retryDelays.keys()));
      await applyRetryDelays(sqs, records, response, retryDelays, logger);
      return response;
    } finally {
      tenantMetrics?.flush();
      metrics.publishStoredMetrics();
    }
  };
}

/**
 * The usual way to write a handler module: configuration from the environment, clients created
 * once per container, and the business definition built with those clients.
 */
export function sqsConsumerHandler<M, R>(
  schema: ZodType<M>,
  build: (deps: ConsumerDependencies) => Omit<ConsumerDefinition<M, R>, "schema">,
  /** Dependencies that replace the defaults (e.g. `payloadObjects` over another store). */
  overrides: Partial<ConsumerDependencies> = {},
) {
  const config = consumerConfigFromEnv();
  const deps = { ...defaultDependencies(config), ...overrides };
  return createSqsConsumer({ schema, ...build(deps) }, config, deps);
}

/**
 * A step's result as its idempotency record stores it: JSON, so it is what DynamoDB can hold (see
 * createSqsConsumer), and what a duplicate reads back. The effect fence's completing commit
 * writes the same (effect-fence.ts).
 */
function storedResult(value: unknown): { value?: unknown } {
  return value === undefined ? {} : { value: JSON.parse(JSON.stringify(value)) };
}
