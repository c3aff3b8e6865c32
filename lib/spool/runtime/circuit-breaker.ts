/**
 * A circuit breaker around one dependency of a consumer's business step, shared by all the
 * consumer's concurrent invocations:
 *
 * ```ts
 * const provider = dependencyBreaker("email-provider", { failureThreshold: 5, window: 60, coolDown: 30 }, deps);
 * await provider.call(() => ses.send(...));
 * ```
 *
 * While the breaker is open the call is not made: `call` throws a TransientError with code
 * DEPENDENCY_OPEN whose `retryAfterSeconds` is the cool-down left. The states and the decisions
 * on them are in breaker-policy.ts.
 *
 * **Where the state lives.** One item per breaker in the consumer's idempotency table, under
 * `<consumerName>#breaker#<name>`, next to the rate limit's buckets and for the same reasons: the
 * consumer's grant already covers the `<consumerName>#*` keys, and the table's TTL removes a
 * breaker that went quiet (a missing item reads as closed, which an idle breaker is).
 *
 * **Why it is sound across invocations.** Every change of state is one conditional UpdateItem
 * whose condition is the state it starts from, so of two invocations racing for one transition
 * exactly one makes it, and the other reads what the winner wrote:
 * - a failure is counted (closed only) either by adding 1 under `windowEnd > now` or by starting a
 *   new window (`failures = 1, windowEnd = now + window`) under "no window, or it has ended"; the
 *   two conditions exclude each other, so no failure is lost to a reset and none counted twice;
 * - the breaker opens under "closed and failures ≥ threshold": the invocation whose failure
 *   reached the threshold opens it, and `BreakerOpened` is counted once per opening;
 * - a probe slot is taken by adding 1 to `probes` under "open, this `gen`, cool-down over, probes
 *   < halfOpenProbes": at most halfOpenProbes calls per opening, however many invocations ask;
 * - a probe's outcome closes (success) or opens again for a new cool-down (failure, `gen` + 1)
 *   under "open, this `gen`": a late probe of an earlier opening changes nothing.
 * The closed state costs one consistent read per call and no write on success; an open breaker
 * costs nothing per call in a container that has read it open (the cool-down end is cached: the
 * only way out of open is a probe after that time).
 *
 * **What happens to a record that finds it open.** See `openDependencyRetryAfter` in the
 * consumer (sqs-consumer.ts): on a standard queue it is deferred as the rate limiter defers (a
 * copy with `DelaySeconds` = the cool-down left, spread by jitter, and the original acknowledged),
 * so it starts again at receive count 1: an outage as long as you like burns no delivery and
 * sends nothing to the dead-letter queue. On a FIFO queue a copy would break the group's order, so
 * it is retried in place with the cool-down as its delay, which counts a receive (the failure
 * policy floors the delay at `retryAfterSeconds`); a FIFO source therefore needs a
 * maxReceiveCount that covers the outages it should ride out.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  BREAKER_OPEN_METRIC,
  type BreakerOptions,
  type BreakerPolicy,
  type BreakerState,
  breakerPolicy,
  CLOSED,
  decideAdmission,
  retryAfterSeconds,
} from "./breaker-policy.js";
import type { ConsumerConfig } from "./consumer-config.js";
import { consumerConfigFromEnv } from "./consumer-config.js";
import { ConfigurationError } from "./env.js";
import { TransientError } from "./errors.js";

export type { BreakerOptions } from "./breaker-policy.js";

/** The idempotency table's partition key and TTL attribute (Powertools' defaults). */
const KEY_ATTRIBUTE = "id";
const EXPIRY_ATTRIBUTE = "expiration";
/** How long a quiet breaker's item outlives its last deadline before TTL may remove it. */
const IDLE_EXPIRY_SECONDS = 3600;
/** Tries per decision when other invocations keep changing the item in between. */
const MAX_TRIES = 5;

const OPEN = "open";
const CLOSED_STATE = "closed";
const NOT_OPEN = "(attribute_not_exists(#state) OR #state = :closed)";
const THIS_OPENING = "#state = :open AND #gen = :gen";

/** The conditional writes, by name (tests evaluate the same ones in a fake table). */
export const BREAKER_WRITES = {
  addFailure: {
    update: "SET #exp = :exp ADD #failures :one",
    condition: `${NOT_OPEN} AND #windowEnd > :now`,
  },
  startWindow: {
    update: "SET #failures = :one, #windowEnd = :windowEnd, #exp = :exp",
    condition: `${NOT_OPEN} AND (attribute_not_exists(#windowEnd) OR #windowEnd <= :now)`,
  },
  open: {
    update:
      "SET #state = :open, #openUntil = :openUntil, #probes = :zero, #exp = :exp ADD #gen :one REMOVE #failures, #windowEnd",
    condition: `${NOT_OPEN} AND #failures >= :threshold`,
  },
  takeProbe: {
    update: "ADD #probes :one",
    condition: `${THIS_OPENING} AND #openUntil <= :now AND #probes < :probes`,
  },
  reopen: {
    update: "SET #openUntil = :openUntil, #probes = :zero, #exp = :exp ADD #gen :one",
    condition: THIS_OPENING,
  },
  close: {
    update: "SET #state = :closed, #probes = :zero REMOVE #openUntil, #failures, #windowEnd",
    condition: THIS_OPENING,
  },
} as const;

export type BreakerWrite = keyof typeof BREAKER_WRITES;

const NAMES: Record<string, string> = {
  "#state": "bstate",
  "#openUntil": "openUntil",
  "#gen": "gen",
  "#probes": "probes",
  "#failures": "failures",
  "#windowEnd": "windowEnd",
  "#exp": EXPIRY_ATTRIBUTE,
};

/** A breaker's item in the table: reads and the conditional writes above. */
export class BreakerItem {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly table: string,
    readonly id: string,
  ) {}

  async read(): Promise<BreakerState> {
    const { Item } = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { [KEY_ATTRIBUTE]: { S: this.id } },
        ConsistentRead: true,
      }),
    );
    return stateOf(Item);
  }

  /**
   * One conditional write. Returns the item as written, or, when its condition failed, the
   * item as it stands (read again if the failure did not return it) and `done: false`.
   */
  async write(
    name: BreakerWrite,
    values: Record<string, number>,
  ): Promise<{ readonly done: boolean; readonly state: BreakerState }> {
    const { update, condition } = BREAKER_WRITES[name];
    const used = `${update} ${condition}`;
    const attributeValues: Record<string, AttributeValue> = {};
    // DynamoDB refuses a value the expressions do not use: pass only those that appear.
    const uses = (placeholder: string) => new RegExp(`${placeholder}\\b`).test(used);
    for (const [key, value] of Object.entries({ ...values, one: 1, zero: 0 })) {
      if (uses(`:${key}`)) attributeValues[`:${key}`] = { N: String(value) };
    }
    if (uses(":open")) attributeValues[":open"] = { S: OPEN };
    if (uses(":closed")) attributeValues[":closed"] = { S: CLOSED_STATE };
    const attributeNames = Object.fromEntries(
      Object.entries(NAMES).filter(([placeholder]) => uses(placeholder)),
    );
    try {
      const result = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { [KEY_ATTRIBUTE]: { S: this.id } },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: attributeNames,
          ExpressionAttributeValues: attributeValues,
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { done: true, state: stateOf(result.Attributes) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { done: false, state: error.Item ? stateOf(error.Item) : await this.read() };
    }
  }
}

function stateOf(item: Record<string, AttributeValue> | undefined): BreakerState {
  if (!item) return CLOSED;
  const num = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name].N));
  return {
    open: item.bstate?.S === OPEN,
    openUntil: num("openUntil") ?? 0,
    gen: num("gen") ?? 0,
    probes: num("probes") ?? 0,
    failures: num("failures") ?? 0,
    windowEnd: num("windowEnd"),
  };
}

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** What the breaker needs of Powertools' Metrics. */
export interface BreakerMetrics {
  addMetric(name: string, unit: Unit, value: number): unknown;
  singleMetric?(): {
    addDimension(name: string, value: string): unknown;
    addMetric(name: string, unit: Unit, value: number): unknown;
  };
}

export interface BreakerDependencies {
  readonly dynamo: DynamoDBClient;
  /**
   * The consumer's metrics: counts go out with its own at the end of the batch; `BreakerOpen`
   * goes out at once with a `dependency` dimension (Powertools' singleMetric), for the alarm.
   */
  readonly metrics: BreakerMetrics;
  readonly logger: Pick<Logger, "info" | "warn" | "error">;
  readonly now: () => Date;
  /** Where the state is kept: the consumer's name and idempotency table (default: its env). */
  readonly config?: Pick<ConsumerConfig, "consumerName" | "idempotencyTable">;
}

/** What a call was admitted as. */
type Admitted = { readonly kind: "closed" } | { readonly kind: "probe"; readonly gen: number };

/** One dependency's breaker. Create it once per container (with the handler's clients). */
export class DependencyBreaker {
  /** This container's last sight of an open breaker's cool-down end: calls before it skip the read. */
  private openUntilSeen = 0;
  /** This container's last sight of the failure window's end: which count to try first. */
  private windowEndSeen: number | undefined;

  constructor(
    readonly name: string,
    private readonly policy: BreakerPolicy,
    private readonly item: BreakerItem,
    private readonly deps: Omit<BreakerDependencies, "dynamo" | "config">,
  ) {}

  /**
   * Calls `fn` unless the breaker is open. Its result or error is passed on as it is, except
   * that a failure that counts (`isFailure`) and finds the breaker open once counted (it reached
   * the threshold, or it was a failed probe) ends in DEPENDENCY_OPEN with the error as its cause.
   * Throws DEPENDENCY_OPEN without calling while open, and the SDK's error when the breaker's
   * item cannot be read (a transient failure: retried, nothing was called).
   */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    const admitted = await this.admit();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      const openUntil = await this.settle(admitted, error).catch((bookkeeping: unknown) =>
        this.lost(bookkeeping),
      );
      // The breaker is open now (this failure opened it, or others did meanwhile): the record
      // waits out the cool-down with the others rather than spend a delivery on a retry that
      // would find it open. The dependency's error is the cause.
      if (openUntil !== undefined) {
        throw this.openError(openUntil - this.deps.now().getTime(), error);
      }
      throw error;
    }
    if (admitted.kind === "probe") {
      await this.settle(admitted, undefined).catch((bookkeeping: unknown) =>
        this.lost(bookkeeping),
      );
    }
    return result;
  }

  private async admit(): Promise<Admitted> {
    let nowMs = this.deps.now().getTime();
    if (nowMs < this.openUntilSeen) this.reject(this.openUntilSeen - nowMs);
    let state = await this.item.read();
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      nowMs = this.deps.now().getTime();
      this.windowEndSeen = state.windowEnd;
      const decision = decideAdmission(this.policy, state, nowMs);
      if (decision.kind === "call") return { kind: "closed" };
      if (decision.kind === "reject") {
        if (nowMs < state.openUntil) this.openUntilSeen = state.openUntil;
        this.reject(decision.retryAfterMs);
      }
      if (decision.kind === "probe") {
        const taken = await this.item.write("takeProbe", {
          gen: decision.gen,
          now: nowMs,
          probes: this.policy.halfOpenProbes,
        });
        if (taken.done) {
          this.deps.logger.info("circuit half-open: probing", { dependency: this.name });
          return { kind: "probe", gen: decision.gen };
        }
        state = taken.state;
      } else {
        // Every probe of this opening is out and overdue: their invocations died. Open again.
        state = await this.reopen(decision.gen, nowMs, "its probes never reported");
      }
    }
    // Still contended: come back after a cool-down rather than spin here.
    return this.reject(this.policy.coolDownMs);
  }

  /**
   * Records what the dependency did: a failure counted or a probe's outcome. Returns the end of
   * the cool-down when the breaker is open after a failure that counts.
   */
  private async settle(admitted: Admitted, error: unknown): Promise<number | undefined> {
    const failed = error !== undefined && this.policy.isFailure(error);
    const nowMs = this.deps.now().getTime();
    if (admitted.kind === "probe") {
      if (failed) {
        const state = await this.reopen(admitted.gen, nowMs, "the probe failed");
        return state.open ? state.openUntil : undefined;
      }
      const closed = await this.item.write("close", { gen: admitted.gen });
      if (closed.done) {
        this.openUntilSeen = 0;
        this.deps.metrics.addMetric("BreakerClosed", MetricUnit.Count, 1);
        this.deps.logger.info("circuit closed: the probe succeeded", { dependency: this.name });
      }
      return undefined;
    }
    return failed ? await this.countFailure(nowMs) : undefined;
  }

  /** Counts a failure; returns the end of the cool-down if the breaker is open after it. */
  private async countFailure(nowMs: number): Promise<number | undefined> {
    const expiry = (endMs: number) => Math.ceil(endMs / 1000) + IDLE_EXPIRY_SECONDS;
    let windowEnd = this.windowEndSeen;
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const continuing = windowEnd !== undefined && windowEnd > nowMs;
      const counted = continuing
        ? await this.item.write("addFailure", { now: nowMs, exp: expiry(windowEnd ?? nowMs) })
        : await this.item.write("startWindow", {
            now: nowMs,
            windowEnd: nowMs + this.policy.windowMs,
            exp: expiry(nowMs + this.policy.windowMs),
          });
      // Open already (another invocation's failures did it): nothing left to count.
      if (counted.state.open) return counted.state.openUntil;
      windowEnd = counted.state.windowEnd;
      this.windowEndSeen = windowEnd;
      // Not done: the window ended or started under us; the item as it stands says which count
      // to try next (the two conditions exclude each other, so one of them holds).
      if (!counted.done) continue;
      if (counted.state.failures < this.policy.failureThreshold) return undefined;
      return await this.open(nowMs);
    }
    this.deps.logger.warn("circuit breaker: a failure was not counted (contention)", {
      dependency: this.name,
    });
    return undefined;
  }

  private async open(nowMs: number): Promise<number | undefined> {
    const openUntil = nowMs + this.policy.coolDownMs;
    const opened = await this.item.write("open", {
      threshold: this.policy.failureThreshold,
      openUntil,
      exp: Math.ceil((openUntil + this.policy.coolDownMs) / 1000) + IDLE_EXPIRY_SECONDS,
    });
    // Another invocation opened it (or the window moved on): as the item now says.
    if (!opened.done) return opened.state.open ? opened.state.openUntil : undefined;
    this.openUntilSeen = openUntil;
    this.count("BreakerOpened");
    this.deps.logger.warn("circuit opened: the dependency is not called during the cool-down", {
      dependency: this.name,
      failureThreshold: this.policy.failureThreshold,
      coolDownSeconds: this.policy.coolDownMs / 1000,
    });
    return openUntil;
  }

  private async reopen(gen: number, nowMs: number, why: string): Promise<BreakerState> {
    const openUntil = nowMs + this.policy.coolDownMs;
    const reopened = await this.item.write("reopen", {
      gen,
      openUntil,
      exp: Math.ceil((openUntil + this.policy.coolDownMs) / 1000) + IDLE_EXPIRY_SECONDS,
    });
    if (reopened.done) {
      this.openUntilSeen = openUntil;
      this.count("BreakerOpened");
      this.deps.logger.warn(`circuit opened again: ${why}`, { dependency: this.name });
    }
    return reopened.state;
  }

  /** Fails a call without making it. */
  private reject(retryAfterMs: number): never {
    this.count("BreakerRejected");
    throw this.openError(retryAfterMs);
  }

  /**
   * Counts an opening or a rejection for the consumer, and signals the open breaker on its own
   * metric (dimension `dependency`), which the consumer's monitoring alarms on by name.
   */
  private count(metric: "BreakerOpened" | "BreakerRejected"): void {
    this.deps.metrics.addMetric(metric, MetricUnit.Count, 1);
    const single = this.deps.metrics.singleMetric?.();
    if (!single) return;
    single.addDimension("dependency", this.name);
    single.addMetric(BREAKER_OPEN_METRIC, MetricUnit.Count, 1);
  }

  private openError(retryAfterMs: number, cause?: unknown): TransientError {
    const details = { dependency: this.name, retryAfterSeconds: retryAfterSeconds(retryAfterMs) };
    return cause === undefined
      ? new TransientError(`dependency ${this.name} is unavailable (circuit open): not called`, {
          code: "DEPENDENCY_OPEN",
          details,
        })
      : new TransientError(
          `dependency ${this.name} failed and its circuit is open: ${(cause as Error).message}`,
          { code: "DEPENDENCY_OPEN", details, cause },
        );
  }

  /** The dependency's own error is what the record reports; a bookkeeping failure is only logged. */
  private lost(error: unknown): undefined {
    this.deps.logger.error("circuit breaker: could not record the call's outcome", {
      dependency: this.name,
      error: (error as Error).message,
    });
  }
}

/**
 * A breaker for one dependency of this consumer, kept in its idempotency table. `deps` are the
 * consumer's (the handler's `build(deps)`), so metrics go out with the consumer's own.
 */
export function dependencyBreaker(
  name: string,
  options: BreakerOptions,
  deps: BreakerDependencies,
): DependencyBreaker {
  const policy = breakerPolicy(name, options);
  const { consumerName, idempotencyTable } = deps.config ?? consumerConfigFromEnv();
  if (!idempotencyTable) {
    throw new ConfigurationError(
      `dependencyBreaker ${name} needs the consumer's idempotency table (its state is kept there)`,
    );
  }
  const item = new BreakerItem(deps.dynamo, idempotencyTable, `${consumerName}#breaker#${name}`);
  return new DependencyBreaker(name, policy, item, deps);
}
