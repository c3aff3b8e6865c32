/**
 * A consumer's rate limit, shared by all its concurrent invocations: a token bucket (in the GCRA
 * form of rate-limit-policy.ts) kept in one DynamoDB item per bucket, and what happens to a
 * record that finds no token.
 *
 * **Where the bucket lives.** In the consumer's idempotency table, under the key
 * `<consumerName>#rate-limit#<bucket>`. The consumer may already write exactly that key prefix
 * (its grant is conditioned on `dynamodb:LeadingKeys` = `<consumerName>#*`), so the bucket needs
 * no new table, no new grant and no new teardown step, and the table's TTL removes the bucket of
 * a key (a tenant) that went quiet. A removed bucket reads as full, which is what an idle bucket
 * is. The idempotency table is needed anyway: a deferred record is re-sent (below), and a re-send
 * racing its original is only harmless because the idempotency record applies the work once.
 *
 * **One conditional UpdateItem per record, no read.** A busy bucket (its tat in the future) is
 * moved by `tat = tat + interval` under the condition that the token is due soon enough; an idle
 * one is set to `now + interval` under the condition that it is idle. Which of the two is tried
 * first follows the last tat this container saw; a condition that fails returns the item (or, on
 * an emulator that does not, one consistent GetItem reads it) and the next try is decided from
 * it. Contention therefore costs a retry, never a wrong answer. Acquiring up to N tokens per
 * batch in one call would save calls, but it spends tokens on records that then turn out to be
 * duplicates, invalid or blocked behind a failed FIFO predecessor, and starts the batch's records
 * in one clump instead of one interval apart; a write per record is cheaper than the effect it
 * paces.
 *
 * **When.** The token is taken inside the idempotency check, right before the business step:
 * a duplicate of finished work is answered from its record without taking one, and the step
 * starts as soon as its token is due (an earlier token would let the idempotency write's latency
 * bunch starts together beyond the limit).
 *
 * **A record over the limit.** A token due within a short wait is taken now and the record
 * starts when it is due (sleeping in the invocation is cheaper than any round trip through the
 * queue). One due later is deferred before the step runs (no effect happens; the in-progress
 * idempotency record is deleted as for any error of the step, so the deferred record runs later):
 * - standard queue: a copy is sent to the same queue with `DelaySeconds` = the time until the next
 *   token, spread by jitter up to twice that so deferred records do not all come back at once
 *   (at most 900 s), and the original is acknowledged. The copy keeps the body and the message
 *   attributes (the correlation id among them; see `carriedAttributes`), and starts again at
 *   receive count 1: a deferral burns no delivery. If the send fails the original is not
 *   acknowledged and comes back as a transient failure; if the original comes back although the
 *   copy was sent (a crash between the two), the idempotency record runs the work once.
 * - FIFO queue: per-message delays do not exist and a copy would break the group's order, so the
 *   record stays on the queue with its visibility timeout set to the delay, and its group waits
 *   behind it. That receive counts toward `maxReceiveCount`, so a FIFO record is deferred only
 *   while its next delivery would not be its last; without that headroom it waits for its token
 *   in the invocation as long as the record deadline allows, and past that it runs over the limit
 *   (`RateLimitOverrun`) rather than go to the dead-letter queue for work it never tried.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { ConfigurationError } from "./env.js";
import { KeyedSerializer } from "./keyed-serializer.js";
import {
  type BucketDecision,
  bucketOf,
  decide,
  intervalMs,
  type RateLimitPolicy,
  toleranceMs,
} from "./rate-limit-policy.js";
import { holdUntilDue, MAX_HOLD_SECONDS } from "./retry-delays.js";

/** The idempotency table's partition key and TTL attribute (Powertools' defaults). */
const KEY_ATTRIBUTE = "id";
const EXPIRY_ATTRIBUTE = "expiration";
/** How long an idle bucket outlives its tat before TTL may remove it. */
const IDLE_EXPIRY_SECONDS = 3600;
/** Tries per acquisition when other invocations keep changing the bucket in between. */
const MAX_TRIES = 5;
/** The longest a record waits for its token inside the invocation (at least one interval). */
const MAX_WAIT_MS = 2000;
/** Kept free before the record deadline, for the work itself to start. */
const WAIT_MARGIN_MS = 1000;
/** Less than this before the record deadline after the wait, and the work does not start. */
const LATE_START_MS = WAIT_MARGIN_MS / 2;

export interface RateLimiterDependencies {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly metrics: Pick<Metrics, "addMetric">;
  readonly logger: Pick<Logger, "info" | "warn">;
  readonly now: () => Date;
  readonly random: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The buckets of one consumer, in one table. */
export class TokenBuckets {
  /** The tat this container last saw per bucket: which update to try first. */
  private readonly seen = new Map<string, number>();
  /**
   * A batch's records run in parallel; one write at a time per bucket in this container, each
   * starting from the tat the last one returned, keeps them from failing each other's conditions.
   */
  private readonly serializer = new KeyedSerializer();

  constructor(
    private readonly policy: RateLimitPolicy,
    private readonly table: string,
    private readonly consumerName: string,
    private readonly dynamo: DynamoDBClient,
    private readonly now: () => Date,
  ) {}

  /** The item key of a bucket. */
  keyOf(bucket: string): string {
    return `${this.consumerName}#rate-limit#${bucket}`;
  }

  /** Takes a token due within `maxWaitMs`, or says when the next one is due. */
  acquire(bucket: string, maxWaitMs: number): Promise<BucketDecision> {
    return this.serializer.run(bucket, () => this.tryAcquire(bucket, maxWaitMs));
  }

  private async tryAcquire(bucket: string, maxWaitMs: number): Promise<BucketDecision> {
    const id = this.keyOf(bucket);
    let tat = this.seen.get(bucket);
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const nowMs = this.now().getTime();
      const decision = decide(this.policy, tat, nowMs, maxWaitMs);
      if (decision.kind === "over") return decision;
      try {
        const taken = await this.update(id, tat !== undefined && tat > nowMs, nowMs, maxWaitMs);
        this.seen.set(bucket, taken);
        const waitMs = taken - intervalMs(this.policy) - toleranceMs(this.policy) - nowMs;
        return { kind: "take", tat: taken, waitMs: Math.max(0, waitMs) };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Another invocation moved the bucket: decide again from what it holds now.
        tat = tatOf(error.Item) ?? (await this.read(id));
        if (tat !== undefined) this.seen.set(bucket, tat);
      }
    }
    // Still contended: come back after one interval rather than spin here.
    return { kind: "over", retryInMs: intervalMs(this.policy) };
  }

  /** One conditional write; returns the bucket's new tat. */
  private async update(id: string, busy: boolean, nowMs: number, maxWaitMs: number) {
    const interval = intervalMs(this.policy);
    const latest = nowMs + toleranceMs(this.policy) + maxWaitMs;
    const expiry = Math.ceil((latest + interval) / 1000) + IDLE_EXPIRY_SECONDS;
    const values: Record<string, AttributeValue> = {
      ":now": { N: String(nowMs) },
      ":exp": { N: String(expiry) },
    };
    const busyUpdate = {
      UpdateExpression: "SET #tat = #tat + :interval, #exp = :exp",
      ConditionExpression: "#tat > :now AND #tat <= :latest",
      values: { ":interval": { N: String(interval) }, ":latest": { N: String(latest) } },
    };
    const idleUpdate = {
      UpdateExpression: "SET #tat = :next, #exp = :exp",
      ConditionExpression: "attribute_not_exists(#tat) OR #tat <= :now",
      values: { ":next": { N: String(nowMs + interval) } },
    };
    const chosen = busy ? busyUpdate : idleUpdate;
    const result = await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { [KEY_ATTRIBUTE]: { S: id } },
        UpdateExpression: chosen.UpdateExpression,
        ConditionExpression: chosen.ConditionExpression,
        ExpressionAttributeNames: { "#tat": "tat", "#exp": EXPIRY_ATTRIBUTE },
        ExpressionAttributeValues: { ...values, ...chosen.values },
        ReturnValues: "UPDATED_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    const tat = tatOf(result.Attributes);
    if (tat === undefined) throw new Error(`rate-limit bucket ${id} returned no tat`);
    return tat;
  }

  private async read(id: string): Promise<number | undefined> {
    const { Item } = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { [KEY_ATTRIBUTE]: { S: id } },
        ConsistentRead: true,
      }),
    );
    return tatOf(Item);
  }
}

function tatOf(item: Record<string, AttributeValue> | undefined): number | undefined {
  const raw = item?.tat?.N;
  return raw === undefined ? undefined : Number(raw);
}

/** Whole seconds to defer for a token due in `retryInMs`: that, plus jitter up to as much again. */
export function deferralSeconds(retryInMs: number, random: () => number): number {
  const seconds = Math.ceil(((1 + random()) * retryInMs) / 1000);
  return Math.min(MAX_HOLD_SECONDS, Math.max(1, seconds));
}

/** Whether a FIFO record deferred now (which counts a receive) comes back before its last delivery. */
export function hasHeadroom(attempt: number, maxReceiveCount: number | undefined): boolean {
  return maxReceiveCount === undefined || attempt + 1 < maxReceiveCount;
}

export interface Admission {
  readonly record: SQSRecord;
  /** The JSON body (the bucket key may be a field of it). */
  readonly body: unknown;
  readonly attempt: number;
  /** Epoch ms by which the record must have started (see record-deadline.ts). */
  readonly deadlineAt: number;
}

/** Decides, per record, whether it runs now (after its token is due) or is deferred. */
export class RateLimiter {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly policy: RateLimitPolicy,
    private readonly buckets: TokenBuckets,
    private readonly deps: RateLimiterDependencies,
    /** The source queue's, when known: how many deliveries a FIFO record may spend on deferral. */
    private readonly maxReceiveCount: number | undefined,
  ) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Resolves once the record may run. Throws DeferredToQueue once a copy was sent in its place
   * (standard queue: acknowledge the record), HeldOnQueue for a FIFO record deferred in place, and
   * the SDK's error when the bucket or the re-send fails (a transient failure: the record comes
   * back, nothing was sent or taken twice).
   */
  async admit(a: Admission): Promise<void> {
    const { metrics, logger } = this.deps;
    const bucket = bucketOf(this.policy.key, a.body, a.record.messageAttributes);
    const fifo = a.record.eventSourceARN.endsWith(".fifo");
    const mayDefer = !fifo || hasHeadroom(a.attempt, this.maxReceiveCount);
    const timeLeftMs = a.deadlineAt - this.deps.now().getTime() - WAIT_MARGIN_MS;
    const patience = mayDefer ? Math.max(MAX_WAIT_MS, intervalMs(this.policy)) : timeLeftMs;
    const decision = await this.buckets.acquire(
      bucket,
      Math.max(0, Math.min(patience, timeLeftMs)),
    );
    if (decision.kind === "take") {
      if (decision.waitMs > 0) await this.sleep(decision.waitMs);
      // A wait that overslept (a loaded event loop) must not start the work inside the deadline's
      // margin: a step still running at the deadline is given up while it goes on, its lease ends
      // with the invocation, and the retry could run it a second time. The token is spent; the
      // record comes back as a copy that burns no delivery.
      if (!mayDefer || a.deadlineAt - this.deps.now().getTime() >= LATE_START_MS) return;
      metrics.addMetric("Deferred", MetricUnit.Count, 1);
      logger.info("woke too close to the deadline to start: deferred", {
        messageId: a.record.messageId,
        bucket,
        delaySeconds: 1,
      });
      throw new DeferredToQueue(await holdUntilDue(this.deps.sqs, a.record, 1));
    }
    if (!mayDefer) {
      metrics.addMetric("RateLimitOverrun", MetricUnit.Count, 1);
      logger.warn("over the rate limit with no delivery to spare: run anyway", {
        messageId: a.record.messageId,
        bucket,
      });
      return;
    }
    const seconds = deferralSeconds(decision.retryInMs, this.deps.random);
    metrics.addMetric("Deferred", MetricUnit.Count, 1);
    logger.info("over the rate limit: deferred", {
      messageId: a.record.messageId,
      bucket,
      delaySeconds: seconds,
    });
    throw new DeferredToQueue(await holdUntilDue(this.deps.sqs, a.record, seconds));
  }
}

/**
 * Thrown from the step's admission once a delayed copy of the record is on its queue: the
 * idempotency layer deletes the in-progress record (as for any error of the step) so the copy can
 * run, and the consumer acknowledges the original.
 */
export class DeferredToQueue extends Error {
  override readonly name = "DeferredToQueue";
  constructor(
    readonly delaySeconds: number,
    /** Why: the rate limit, or a tenant at its in-flight quota (tenant-quota.ts). */
    reason = "over the rate limit",
  ) {
    super(`${reason}: sent again with a ${delaySeconds} s delay`);
  }
}

/** What the consumer hands its idempotent step: the record's admission (undefined: no limit). */
export type Admit = () => Promise<void> | undefined;

/** For a step's rejection: the deferral it reports, or the error thrown again. */
export function deferralOf(error: unknown): DeferredToQueue {
  if (error instanceof DeferredToQueue) return error;
  throw error;
}

/** The consumer's rate limiter, or undefined when it has no rate limit. */
export function rateLimiterFor(
  config: {
    readonly consumerName: string;
    readonly idempotencyTable: string | undefined;
    readonly rateLimit?: RateLimitPolicy | undefined;
    readonly maxReceiveCount: number | undefined;
  },
  deps: RateLimiterDependencies,
): RateLimiter | undefined {
  const { rateLimit, idempotencyTable } = config;
  if (!rateLimit) return undefined;
  if (!idempotencyTable) {
    // The construct refuses this; a hand-built configuration gets the same answer at init.
    throw new ConfigurationError(
      "a rate limit needs the idempotency table (its buckets are kept there)",
    );
  }
  const buckets = new TokenBuckets(
    rateLimit,
    idempotencyTable,
    config.consumerName,
    deps.dynamo,
    deps.now,
  );
  return new RateLimiter(rateLimit, buckets, deps, config.maxReceiveCount);
}
