import type { Metrics } from "@aws-lambda-powertools/metrics";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  TENANT_DIMENSION,
  TENANT_METRICS,
  type TenantFairnessPolicy,
} from "./tenant-fairness-policy.js";

interface TenantCounts {
  processed: number;
  deadLettered: number;
  /** The oldest processed record's send → effect, ms. */
  oldestMs: number;
}

/**
 * The per-tenant metrics of one batch (TENANT_METRICS), with the consumer's dimensions plus
 * `tenant`. Gathered per record and published once per tenant at the end of the batch, so a
 * batch of ten records of one tenant writes at most three EMF lines, not thirty. Every distinct
 * tenant is a CloudWatch custom metric per name (billed monthly), which is why only a consumer
 * with tenant fairness publishes them.
 */
export class TenantMetrics {
  private readonly byTenant = new Map<string, TenantCounts>();

  constructor(private readonly metrics: Pick<Metrics, "singleMetric">) {}

  /**
   * A record of `tenant` whose step ran. Its age counts from its SentTimestamp: for a record that
   * was deferred, from the copy's send, so a deferred tenant's age shows the last wait, not all.
   */
  processed(
    tenant: string | undefined,
    record: { readonly attributes: { readonly SentTimestamp?: string } },
    now: Date,
  ): void {
    if (tenant === undefined) return;
    const counts = this.countsOf(tenant);
    counts.processed++;
    const sentAt = Number(record.attributes.SentTimestamp);
    if (Number.isFinite(sentAt)) {
      counts.oldestMs = Math.max(counts.oldestMs, now.getTime() - sentAt);
    }
  }

  deadLettered(tenant: string | undefined): void {
    if (tenant !== undefined) this.countsOf(tenant).deadLettered++;
  }

  /** Publishes what the batch gathered and forgets it (a container serves batch after batch). */
  flush(): void {
    for (const [tenant, counts] of this.byTenant) {
      const emit = (
        name: string,
        unit: (typeof MetricUnit)[keyof typeof MetricUnit],
        v: number,
      ) => {
        // A single metric publishes on addMetric and then drops its dimensions: one per value.
        const single = this.metrics.singleMetric();
        single.addDimension(TENANT_DIMENSION, tenant);
        single.addMetric(name, unit, v);
      };
      if (counts.processed > 0) {
        emit(TENANT_METRICS.processed, MetricUnit.Count, counts.processed);
        emit(TENANT_METRICS.age, MetricUnit.Milliseconds, Math.max(0, counts.oldestMs));
      }
      if (counts.deadLettered > 0) {
        emit(TENANT_METRICS.deadLettered, MetricUnit.Count, counts.deadLettered);
      }
    }
    this.byTenant.clear();
  }

  private countsOf(tenant: string): TenantCounts {
    let counts = this.byTenant.get(tenant);
    if (!counts) {
      counts = { processed: 0, deadLettered: 0, oldestMs: 0 };
      this.byTenant.set(tenant, counts);
    }
    return counts;
  }
}

/** Per-tenant metrics come with tenant fairness: each tenant is a billed custom metric. */
export function tenantMetricsFor(
  config: { readonly tenantFairness?: TenantFairnessPolicy | undefined },
  metrics: Pick<Metrics, "singleMetric">,
): TenantMetrics | undefined {
  return config.tenantFairness ? new TenantMetrics(metrics) : undefined;
}
