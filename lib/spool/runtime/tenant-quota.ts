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
 * **A batch takes its tenant's slots at once.** A batch answers only when all its records have
 * finished, so an invocation running even one record of a tenant is busy for that record's whole
 * run. Were slots taken one record at a time, the slots a finishing batch frees would be picked
 * up one or two by each of the next batches, and soon every invocation would be held by a few
 * records of the noisy tenant instead of cycling through its backlog. So each batch takes, in one
 * write, as many slots as it has records of the tenant (at most the quota), or none: a tenant's
 * running records stay together in few invocations, and the others stay free. The slots are
 * given back in one write when the batch has answered. One call to take and one to give back per
 * tenant per batch; a tenant found full costs one failed write, and its other records in that
 * batch are deferred without calling DynamoDB again.
 *
 * **Leases, not a bare counter.** A counter that a dying Lambda never decrements leaks its slots
 * forever. A batch's slots are a lease: an attribute `L<k>_<lease id>` (k slots) whose value is the
 * time it expires, written in the same conditional UpdateItem that adds k to the item's count `n`
 * (under `n <= max - k`). Giving the slots back removes the attribute and subtracts k in one
 * write, under the condition that the lease is still there. Count and leases change together in
 * every write, so `n` is always the sum of the leases' k. A lease expires when the invocation that
 * took it can no longer be running (its Lambda deadline, plus a margin for clock skew between
 * containers); the acquisition that finds the tenant full reads the item (the failed condition
 * returns it; on an emulator that does not, one consistent GetItem) and removes each expired
 * lease under "it still holds the value I saw", then tries again. A crashed invocation's slots
 * therefore come back at most one function timeout (plus the margin) after it took them, and two
 * invocations reclaiming the same lease cannot both subtract it.
 *
 * **Deferral.** As rate-limit.ts: a copy with `DelaySeconds` (the quota's `retryAfterMs`, spread
 * by jitter up to twice that) and the original acknowledged, so a deferral burns no delivery;
 * the copy keeps the body, the attributes and the tenant's MessageGroupId. The check runs before
 * the idempotency record is taken, so a deferred record costs no idempotency writes either.
 * FIFO sources are refused by the construct (a copy would break the group's order; deferring in
 * place would spend the record's receives): a FIFO record is not limited. Records without a
 * tenant are not limited and cost nothing.
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
import { parseBodyOrUndefined } from "./message-body.js";
import { DeferredToQueue, deferralOf, deferralSeconds } from "./rate-limit.js";
import { holdUntilDue } from "./retry-delays.js";
import { tenantOf } from "./tenant.js";
import type { TenantFairnessPolicy } from "./tenant-fairness-policy.js";

/** The idempotency table's partition key and TTL attribute (Powertools' defaults). */
const KEY_ATTRIBUTE = "id";
const EXPIRY_ATTRIBUTE = "expiration";
/** The count of slots held; every lease is an attribute `L<k>_<id>` holding its expiry. */
const COUNT_ATTRIBUTE = "n";
const LEASE_NAME = /^L(\d+)_[A-Za-z0-9]+$/;
/** How long a quiet tenant's item outlives its newest lease before TTL may remove it. */
const IDLE_EXPIRY_SECONDS = 3600;
/** Added to a lease past its invocation's deadline: clocks of containers differ a little. */
export const LEASE_MARGIN_MS = 5_000;
/** Rounds of "full, reclaim expired leases, try again" per acquisition. */
const MAX_TRIES = 3;

/** The conditional writes, by name (the unit tests' fake table evaluates the same ones). */
export const QUOTA_WRITES = {
  take: {
    update: "SET #lease = :until, #exp = :exp ADD #n :k",
    condition: "attribute_not_exists(#n) OR #n <= :room",
  },
  give: { update: "REMOVE #lease ADD #n :minusK", condition: "attribute_exists(#lease)" },
  reclaim: { update: "REMOVE #lease ADD #n :minusK", condition: "#lease = :until" },
} as const;

export interface TenantQuotaDependencies {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly metrics: Pick<Metrics, "addMetric">;
  readonly logger: Pick<Logger, "info" | "warn">;
  readonly now: () => Date;
  readonly random: () => number;
}

/** What an acquisition found: the lease's attribute name when taken. */
export type SlotDecision =
  | { readonly kind: "taken"; readonly lease: string; readonly reclaimed: number }
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

  /** Takes `k` slots (clamped to 1..max) until `untilMs`, or none; reclaims expired leases. */
  async acquire(tenant: string, k: number, untilMs: number): Promise<SlotDecision> {
    const slots = Math.min(this.max, Math.max(1, Math.floor(k)));
    const id = this.keyOf(tenant);
    let reclaimed = 0;
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const lease = `L${slots}_${this.newLeaseId()}`;
      try {
        await this.write(id, "take", lease, {
          ":until": { N: String(untilMs) },
          ":exp": { N: String(Math.ceil(untilMs / 1000) + IDLE_EXPIRY_SECONDS) },
          ":k": { N: String(slots) },
          ":room": { N: String(this.max - slots) },
        });
        return { kind: "taken", lease, reclaimed };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = error.Item ?? (await this.read(id));
        const expired = expiredLeases(item, this.now().getTime());
        if (expired.length === 0) return { kind: "full", reclaimed };
        for (const [name, until] of expired) {
          if (await this.reclaim(id, name, until)) reclaimed += slotsOf(name);
        }
      }
    }
    return { kind: "full", reclaimed };
  }

  /** Gives a lease's slots back; false when it had already expired and been reclaimed. */
  async release(tenant: string, lease: string): Promise<boolean> {
    try {
      await this.write(this.keyOf(tenant), "give", lease, {
        ":minusK": { N: String(-slotsOf(lease)) },
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
        ":minusK": { N: String(-slotsOf(lease)) },
        ":until": { N: until },
      });
      return true;
    } catch (error) {
      // Given back or reclaimed by someone else in between: it is gone either way.
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

/** How many slots a lease attribute holds (its name says). */
function slotsOf(lease: string): number {
  return Number(LEASE_NAME.exec(lease)?.[1] ?? 1);
}

/** The leases of an item that expired by `nowMs`: [attribute name, its value as stored]. */
export function expiredLeases(
  item: Record<string, AttributeValue> | undefined,
  nowMs: number,
): [string, string][] {
  return Object.entries(item ?? {}).flatMap(([name, value]): [string, string][] =>
    LEASE_NAME.test(name) && value.N !== undefined && Number(value.N) <= nowMs
      ? [[name, value.N]]
      : [],
  );
}

function randomLeaseId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** A batch's share of one tenant: its lease (none when full) and the records it still covers. */
interface Grant {
  readonly lease: string | undefined;
  tickets: number;
}

/** What the quota keeps per batch (one invocation). */
export interface TenantBatch {
  /** Epoch ms after which the invocation holding the batch cannot be running. */
  readonly endsAt: number;
  /** Records per tenant in the batch (standard queues), read before any record runs. */
  readonly counts: ReadonlyMap<string, number>;
  /** Per tenant, the one acquisition of this batch. */
  readonly grants: Map<string, Promise<Grant>>;
}

/**
 * A batch's quota state: its records counted per tenant (from the attribute or the JSON body's
 * envelope; a claim-check pointer's tenant is found from its attribute), its leases ending when
 * the invocation can no longer be running.
 */
export function tenantBatch(
  now: Date,
  remainingMillis: number,
  records: readonly SQSRecord[],
): TenantBatch {
  const counts = new Map<string, number>();
  for (const record of records) {
    if (record.eventSourceARN.endsWith(".fifo")) continue;
    const tenant = tenantOf(record, parseBodyOrUndefined(record.body));
    if (tenant !== undefined) counts.set(tenant, (counts.get(tenant) ?? 0) + 1);
  }
  return { endsAt: now.getTime() + remainingMillis, counts, grants: new Map() };
}

export interface QuotaAdmission {
  readonly record: SQSRecord;
  readonly body: unknown;
  readonly batch: TenantBatch;
}

/**
 * The consumer's step: the deferral that replaced the record (acknowledge it), or undefined (it
 * may run: it holds one of its batch's slots, or it has no tenant, or there is no quota). Other
 * errors are thrown (transient: the record comes back, nothing taken or sent).
 */
export function admitTenant(
  quota: TenantQuota | undefined,
  admission: QuotaAdmission,
): Promise<DeferredToQueue | undefined> {
  if (!quota) return Promise.resolve(undefined);
  return quota.admit(admission).then(
    () => undefined,
    (error: unknown) => deferralOf(error),
  );
}

/** Decides, per record, whether it runs now (on its batch's lease) or is deferred. */
export class TenantQuota {
  constructor(
    private readonly policy: TenantFairnessPolicy,
    private readonly slots: TenantSlots,
    private readonly deps: TenantQuotaDependencies,
  ) {}

  /**
   * Resolves once the record may run, or throws DeferredToQueue once a delayed copy is on the
   * queue (acknowledge the record). A failed DynamoDB call or re-send throws the SDK's error.
   */
  async admit(a: QuotaAdmission): Promise<void> {
    if (a.record.eventSourceARN.endsWith(".fifo")) return;
    const tenant = tenantOf(a.record, a.body);
    if (tenant === undefined) return;
    let grant = a.batch.grants.get(tenant);
    if (!grant) {
      grant = this.take(tenant, a.batch.counts.get(tenant) ?? 1, a.batch.endsAt);
      a.batch.grants.set(tenant, grant);
    }
    const share = await grant;
    if (share.tickets > 0) {
      share.tickets--;
      return;
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

  /**
   * Gives back every lease the batch took, once its records have all finished. Best effort: a
   * lease not given back is reclaimed when it expires.
   */
  async release(batch: TenantBatch): Promise<void> {
    await Promise.all(
      [...batch.grants.entries()].map(async ([tenant, grant]) => {
        const { lease } = await grant.catch(() => ({ lease: undefined }));
        if (lease === undefined) return;
        try {
          if (!(await this.slots.release(tenant, lease))) {
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
      }),
    );
  }

  private async take(tenant: string, count: number, endsAt: number): Promise<Grant> {
    const k = Math.min(count, this.policy.maxInFlightPerTenant);
    const found = await this.slots.acquire(tenant, k, endsAt + LEASE_MARGIN_MS);
    if (found.reclaimed > 0) {
      this.deps.metrics.addMetric("TenantLeasesReclaimed", MetricUnit.Count, found.reclaimed);
      this.deps.logger.warn("reclaimed expired tenant leases (an invocation died holding them)", {
        tenant,
        reclaimed: found.reclaimed,
      });
    }
    return found.kind === "taken"
      ? { lease: found.lease, tickets: k }
      : { lease: undefined, tickets: 0 };
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
