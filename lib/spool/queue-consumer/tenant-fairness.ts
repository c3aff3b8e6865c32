import { type Duration, Token } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { CONSUMER_ENV } from "../runtime/consumer-config.js";
import { TENANT_ID_PATTERN } from "../runtime/tenant.js";
import { MAX_IN_FLIGHT_PER_TENANT } from "../runtime/tenant-fairness-policy.js";
import { invalid, requireInteger, requireSeconds } from "../runtime/validation.js";

/**
 * How much of a consumer one tenant may occupy: at most `maxInFlightPerTenant` of its records
 * run at once across all the consumer's invocations (leases in the consumer's idempotency
 * table); a record of a tenant at its quota is put back on the queue with a delay, spending no
 * delivery, while the consumer runs other tenants' records. A record's tenant is its `tenant-id`
 * attribute (`spoolMessage({ tenantId })`) or its event envelope's `tenantId`; records without
 * one are not limited. See the README's "Tenant fairness".
 */
export interface TenantFairness {
  /** Records of one tenant running at once, across all invocations (an integer, 1–1,000). */
  readonly maxInFlightPerTenant: number;
  /**
   * How long a record of a full tenant waits before it is offered again; each deferral waits
   * between this and twice this (jitter), in whole seconds from 1 s to 900 s.
   * @default Duration.seconds(1)
   */
  readonly retryAfter?: Duration;
  /**
   * Tenants that get their own dead-letter spike alarm from SpoolMonitoring (the consumer's
   * `TenantDeadLettered` metric with that `tenant` dimension; threshold in the consumer's
   * monitoring options, `maxTenantDeadLettered`). Each is one standard alarm.
   * @default - none: per-tenant metrics are published, no per-tenant alarm is made
   */
  readonly alarmTenants?: readonly string[];
}

/** Checks the quota's bounds, its table, its source and the tenants named for alarms. */
export function validateTenantFairness(
  scope: IConstruct,
  fairness: TenantFairness | undefined,
  context: { readonly hasIdempotencyTable: boolean; readonly fifo: boolean },
): readonly string[] {
  if (!fairness) return [];
  requireInteger(
    scope,
    "tenantFairness.maxInFlightPerTenant",
    fairness.maxInFlightPerTenant,
    1,
    MAX_IN_FLIGHT_PER_TENANT,
  );
  requireSeconds(
    scope,
    "tenantFairness.retryAfter",
    fairness.retryAfter,
    1,
    900,
    "whole seconds from 1 to 900 (an SQS message delay)",
    { wholeSeconds: true },
  );
  if (context.fifo) {
    invalid(
      scope,
      "tenantFairness needs a standard source queue (a deferred FIFO record would break its group's order or spend its receives), got a FIFO source",
    );
  }
  if (!context.hasIdempotencyTable) {
    invalid(
      scope,
      "tenantFairness needs idempotencyTable (its leases are kept there, and a deferred record's re-send relies on it to run once), got no idempotencyTable",
    );
  }
  const tenants = fairness.alarmTenants ?? [];
  const seen = new Set<string>();
  for (const [i, tenant] of tenants.entries()) {
    if (Token.isUnresolved(tenant) || !TENANT_ID_PATTERN.test(tenant)) {
      invalid(
        scope,
        `tenantFairness.alarmTenants[${i}] must be a literal tenant id of 1-128 letters, digits or . _ : -, got ${Token.isUnresolved(tenant) ? "a token" : JSON.stringify(tenant)}`,
      );
    }
    if (seen.has(tenant)) {
      invalid(scope, `tenantFairness.alarmTenants must not repeat a tenant, got "${tenant}" twice`);
    }
    seen.add(tenant);
  }
  return tenants;
}

/** The environment that hands the quota to the consumer (none without one). */
export function tenantFairnessEnvironment(
  fairness: TenantFairness | undefined,
): Record<string, string> {
  if (!fairness) return {};
  return {
    [CONSUMER_ENV.tenantMaxInFlight]: String(fairness.maxInFlightPerTenant),
    ...(fairness.retryAfter
      ? { [CONSUMER_ENV.tenantRetryAfterSeconds]: String(fairness.retryAfter.toSeconds()) }
      : {}),
  };
}
