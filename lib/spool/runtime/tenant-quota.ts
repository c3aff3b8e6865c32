/**
 * A consumer's per-tenant in-flight quota, shared by all its concurrent invocations: at most
 * `maxInFlightPerTenant` records of one tenant (tenant.ts) run at a time; a record of a tenant
 * at its quota is deferred (re-sent with a delay, as the rate limiter defers) while the
 * invocation runs other tenants' records. SQS fair queues (AWS) shorten the dwell time of quiet
 * tenants' messages behind a noisy one; they do not cap how much of the consumer one tenant
 * occupies, and emulators do not model them. This quota does both wherever the consumer runs.
 *
 * **Where the slots live.** One item per tenant in the consumer's idempotency table, under
 * `<consumerName>#tenant-quota#<tenant>`: the consumer's grant already covers its
 * `<consumerName>#*` keys (no new grant, no new table), and the table's TTL removes the item of a
 * tenant that went quiet (a missing item reads as no record in flight, which is what it means).
 *
 * **Leases, not a bare counter.** A counter that a dying Lambda never decrements leaks its slot
 * forever. Each record in flight therefore holds a lease: an attribute `L_<lease id>` whose value
 * is the time it expires, written in the same conditional UpdateItem that adds 1 to the item's
 * count `n` (under `n < max`). Releasing removes the attribute and subtracts 1 in one write, under
 * the condition that the lease is still there. Count and leases change together in every write,
 * so `n` is always the number of lease attributes. A lease expires when the invocation that took
 * it can no longer be running (its Lambda deadline, plus a margin for clock skew between
 * containers); the acquisition that finds the tenant full reads the item (the failed condition
 * returns it; on an emulator that does not, one consistent GetItem) and removes each expired
 * lease under "it still holds the value I saw", then tries again. A crashed invocation's slots
 * therefore come back at most one function timeout (plus the margin) after it took them, and two
 * invocations reclaiming the same lease cannot both subtract it.
 *
 * **Cost.** One write to take a slot and one to give it back per record of a tenant; a tenant
 * found full costs one failed write (and, with expired leases, their removals) and, within that
 * batch, nothing more: its other records are deferred without calling DynamoDB. Acquisitions of
 * one tenant in one container run one at a time, so a batch of ten records of one tenant makes
 * its calls in turn and stops calling at the first "full". Records without a tenant are not
 * limited and cost nothing.
 *
 * **Deferral.** As rate-limit.ts: a copy with `DelaySeconds` (the quota's `retryAfterMs`, spread
 * by jitter up to twice that) and the original acknowledged, so a deferral burns no delivery;
 * the copy keeps the body, the attributes and the tenant's MessageGroupId. The check runs before
 * the idempotency record is taken, so a deferred record costs no idempotency writes either.
 * FIFO sources are refused by the construct (a copy would break the group's order; deferring in
 * place would spend the record's receives): a FIFO record is not limited.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
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
import { DeferredToQueue, deferralOf, deferralSeconds } from "./rate-limit.js";
import { holdUntilDue } from "./retry-delays.js";
import { tenantOf } from "./tenant.js";
import type { TenantFairnessPolicy } from "./tenant-fairness-policy.js";

/** The idempotency table's partition key and TTL attribute (Powertools' defaults). */
const KEY_ATTRIBUTE = "id";
const EXPIRY_ATTRIBUTE = "expiration";
/** The count of leases held; every lease is an attribute named LEASE_PREFIX + its id. */
const COUNT_ATTRIBUTE = "n";
const LEASE_PREFIX = "L_";
/** How long a quiet tenant's item outlives its newest lease before TTL may remove it. */
const IDLE_EXPIRY_SECONDS = 3600;
/** Added to a lease past its invocation's deadline: clocks of containers differ a little. */
export const LEASE_MARGIN_MS = 5_000;
/** Rounds of "full, reclaim expired leases, try again" per acquisition. */
const MAX_TRIES = 3;

/** The conditional writes, by name (the unit tests' fake table evaluates the same ones). */
export const QUOTA_WRITES = {
  take: {
    update: "SET #lease = :until, #exp = :exp ADD #n :one",
    condition: "attribute_not_exists(#n) OR #n < :max",
  },
  give: { update: "REMOVE #lease ADD #n :minusOne", condition: "attribute_exists(#lease)" },
  reclaim: { update: "REMOVE #lease ADD #n :minusOne", condition: "#lease = :until" },
} as const;

export interface TenantQuotaDependencies {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly metrics: Pick<Metrics, "addMetric">;
  readonly logger: Pick<Logger, "info" | "warn">;
  readonly now: () => Date;
  readonly random: () => number;
}

/** A slot held for one record: give it back once the record is done, whatever happened. */
export interface TenantLease {
  readonly tenant: string;
  release(): Promise<void>;
}

/** What an acquisition found. */
export type SlotDecision =
  | { readonly kind: "taken"; readonly leaseId: string; readonly reclaimed: number }
  | { readonly kind: "full"; readonly reclaimed: number };

/** The slots of one consumer's tenants, in one table. */
export class TenantSlots {
  constructor(
    private readonly table: string,
    private readonly consumerName: string,
    private readonly max: number,
    private readonly dynamo: DynamoDBClient,
    private readonly now: () => Date,
    private readonly newLeaseId: () => string = randomLeaseId,
  ) {}

  keyOf(tenant: string): string {
    return `${this.consumerName}#tenant-quota#${tenant}`;
  }

  /** Takes a slot until `untilMs`, reclaiming expired leases when the tenant is full. */
  async acquire(tenant: string, untilMs: number): Promise<SlotDecision> {
    const id = this.keyOf(tenant);
    let reclaimed = 0;
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const leaseId = this.newLeaseId();
      try {
        await this.write(id, "take", `${LEASE_PREFIX}${leaseId}`, {
          ":until": { N: String(untilMs) },
          ":exp": { N: String(Math.ceil(untilMs / 1000) + IDLE_EXPIRY_SECONDS) },
          ":one": { N: "1" },
          ":max": { N: String(this.max) },
        });
        return { kind: "taken", leaseId, reclaimed };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = error.Item ?? (await this.read(id));
        const expired = expiredLeases(item, this.now().getTime());
        if (expired.length === 0) return { kind: "full", reclaimed };
        for (const [name, until] of expired) {
          if (await this.reclaim(id, name, until)) reclaimed++;
        }
      }
    }
    return { kind: "full", reclaimed };
  }

  /** Gives a slot back; false when its lease had already expired and been reclaimed. */
  async release(tenant: string, leaseId: string): Promise<boolean> {
    try {
      await this.write(this.keyOf(tenant), "give", `${LEASE_PREFIX}${leaseId}`, {
        ":minusOne": { N: "-1" },
      });
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async reclaim(id: string, lease: string, until: string): Promise<boolean> {
    try {
      await this.write(id, "reclaim", lease, {
        ":minusOne": { N: "-1" },
        ":until": { N: until },
      });
      return true;
    } catch (error) {
      // Released or reclaimed by someone else in between: it is gone either way.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async write(
    id: string,
    kind: keyof typeof QUOTA_WRITES,
    lease: string,
    values: Record<string, AttributeValue>,
  ): Promise<void> {
    const { update, condition } = QUOTA_WRITES[kind];
    const names: Record<string, string> = { "#lease": lease, "#n": COUNT_ATTRIBUTE };
    if (update.includes("#exp")) names["#exp"] = EXPIRY_ATTRIBUTE;
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { [KEY_ATTRIBUTE]: { S: id } },
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
  }

  private async read(id: string): Promise<Record<string, AttributeValue> | undefined> {
    const { Item } = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { [KEY_ATTRIBUTE]: { S: id } },
        ConsistentRead: true,
      }),
    );
    return Item;
  }
}

/** The leases of an item that expired by `nowMs`: [attribute name, its value as stored]. */
export function expiredLeases(
  item: Record<string, AttributeValue> | undefined,
  nowMs: number,
): [string, string][] {
  return Object.entries(item ?? {}).flatMap(([name, value]): [string, string][] =>
    name.startsWith(LEASE_PREFIX) && value.N !== undefined && Number(value.N) <= nowMs
      ? [[name, value.N]]
      : [],
  );
}

function randomLeaseId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** What the quota keeps per batch (one invocation). */
export interface TenantBatch {
  /** Epoch ms after which the invocation holding the batch cannot be running. */
  readonly endsAt: number;
  /** Tenants found full in this batch: their further records are deferred without a call. */
  readonly full: Set<string>;
}

/** A batch's quota state: its leases end when the invocation can no longer be running. */
export function tenantBatch(now: Date, remainingMillis: number): TenantBatch {
  return { endsAt: now.getTime() + remainingMillis, full: new Set() };
}

export interface QuotaAdmission {
  readonly record: SQSRecord;
  readonly body: unknown;
  readonly batch: TenantBatch;
}

/**
 * The consumer's step: the record's lease, the deferral that replaced it (acknowledge the
 * record), or undefined (no quota, no tenant). Other errors are thrown (transient).
 */
export function admitTenant(
  quota: TenantQuota | undefined,
  admission: QuotaAdmission,
): Promise<TenantLease | DeferredToQueue | undefined> {
  if (!quota) return Promise.resolve(undefined);
  return quota.admit(admission).catch((error: unknown) => deferralOf(error));
}

/** Decides, per record, whether it runs now (holding one of its tenant's slots) or is deferred. */
export class TenantQuota {
  /** One acquisition at a time per tenant in this container (see Cost above). */
  private readonly serializer = new KeyedSerializer();

  constructor(
    private readonly policy: TenantFairnessPolicy,
    private readonly slots: TenantSlots,
    private readonly deps: TenantQuotaDependencies,
  ) {}

  /**
   * Resolves with the record's lease (undefined: no tenant, or a FIFO record: not limited), or
   * throws DeferredToQueue once a delayed copy is on the queue (acknowledge the record). A failed
   * DynamoDB call or re-send throws the SDK's error: a transient failure, nothing taken or sent.
   */
  async admit(a: QuotaAdmission): Promise<TenantLease | undefined> {
    if (a.record.eventSourceARN.endsWith(".fifo")) return undefined;
    const tenant = tenantOf(a.record, a.body);
    if (tenant === undefined) return undefined;
    const decision = await this.serializer.run(tenant, async () => {
      if (a.batch.full.has(tenant)) return undefined;
      const found = await this.slots.acquire(tenant, a.batch.endsAt + LEASE_MARGIN_MS);
      if (found.reclaimed > 0) {
        this.deps.metrics.addMetric("TenantLeasesReclaimed", MetricUnit.Count, found.reclaimed);
        this.deps.logger.warn("reclaimed expired tenant leases (an invocation died holding them)", {
          tenant,
          reclaimed: found.reclaimed,
        });
      }
      if (found.kind === "full") a.batch.full.add(tenant);
      return found;
    });
    if (decision?.kind === "taken") {
      return { tenant, release: () => this.release(tenant, decision.leaseId) };
    }
    const seconds = deferralSeconds(this.policy.retryAfterMs, this.deps.random);
    this.deps.metrics.addMetric("Deferred", MetricUnit.Count, 1);
    this.deps.metrics.addMetric("TenantDeferred", MetricUnit.Count, 1);
    this.deps.logger.info("tenant at its in-flight quota: deferred", {
      messageId: a.record.messageId,
      tenant,
      delaySeconds: seconds,
    });
    const delaySeconds = await holdUntilDue(this.deps.sqs, a.record, seconds);
    throw new DeferredToQueue(delaySeconds, `tenant ${tenant} is at its in-flight quota`);
  }

  /** Best effort: a slot not given back is reclaimed when its lease expires. */
  private async release(tenant: string, leaseId: string): Promise<void> {
    try {
      const held = await this.slots.release(tenant, leaseId);
      if (!held) {
        this.deps.logger.warn("tenant lease had expired and was reclaimed before release", {
          tenant,
        });
      }
    } catch (error) {
      this.deps.logger.warn("could not release a tenant lease; it expires on its own", {
        tenant,
        error: (error as Error).message,
      });
    }
  }
}

/** The consumer's tenant quota, or undefined when it has none. */
export function tenantQuotaFor(
  config: {
    readonly consumerName: string;
    readonly idempotencyTable: string | undefined;
    readonly tenantFairness?: TenantFairnessPolicy | undefined;
  },
  deps: TenantQuotaDependencies,
): TenantQuota | undefined {
  const { tenantFairness, idempotencyTable } = config;
  if (!tenantFairness) return undefined;
  if (!idempotencyTable) {
    // The construct refuses this; a hand-built configuration gets the same answer at init.
    throw new ConfigurationError(
      "a tenant quota needs the idempotency table (its leases are kept there)",
    );
  }
  const slots = new TenantSlots(
    idempotencyTable,
    config.consumerName,
    tenantFairness.maxInFlightPerTenant,
    deps.dynamo,
    deps.now,
  );
  return new TenantQuota(tenantFairness, slots, deps);
}
