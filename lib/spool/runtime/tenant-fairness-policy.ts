/**
 * A consumer's tenant fairness as data (SDK-free): the QueueConsumer construct writes it into its
 * function's environment (the variable names are in consumer-config.ts), the consumer reads it
 * back, and tenant-quota.ts keeps the slots in DynamoDB. Also the names of the per-tenant
 * metrics, shared by the consumer that publishes them and the monitoring that alarms on them.
 */

export interface TenantFairnessPolicy {
  /** Records of one tenant running at once, across all the consumer's invocations. */
  readonly maxInFlightPerTenant: number;
  /** How long a record of a full tenant waits before it comes back (spread by jitter up to 2×). */
  readonly retryAfterMs: number;
}

/** The most slots one tenant may hold: a lease is an attribute of one item (400 KB). */
export const MAX_IN_FLIGHT_PER_TENANT = 1000;
/** When nothing says otherwise, a deferred record comes back after 1–2 s. */
export const DEFAULT_TENANT_RETRY_AFTER_SECONDS = 1;

/** The dimension (besides the consumer's own) of the per-tenant metrics. */
export const TENANT_DIMENSION = "tenant";
/** Per-tenant metrics, published once per batch per tenant with the `tenant` dimension. */
export const TENANT_METRICS = {
  /** Records of the tenant whose business step ran (Count). */
  processed: "TenantProcessed",
  /** Records of the tenant dead-lettered (Count): the per-tenant DLQ spike alarm watches it. */
  deadLettered: "TenantDeadLettered",
  /** The oldest record of the tenant processed in the batch: send → effect (Milliseconds). */
  age: "TenantMessageAge",
} as const;
