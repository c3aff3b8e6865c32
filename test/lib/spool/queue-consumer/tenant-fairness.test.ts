/**
 * A consumer's tenant fairness (`tenantFairness`): validated at synth, handed to the handler in
 * its environment, its leases kept under the grant the consumer already has, and a dead-letter
 * spike alarm per tenant it names.
 */
import { Duration } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { expectRefusal } from "../../../helpers/errors.js";
import {
  type ConsumerTestProps,
  consumerVariables,
  monitoredConsumer,
} from "../../../helpers/queue-consumer-stack.js";
import { alarmsOf, dashboardBody } from "../../../helpers/spool-monitoring.js";

const consumer = { id: "Mailer", queueId: "Mail", consumerName: "mailer", fifo: false };
const build = (props: ConsumerTestProps, monitoring = {}) =>
  monitoredConsumer(consumer, props, monitoring);
const variables = (template: Template) => consumerVariables(template, consumer.consumerName);
const policies = (template: Template) =>
  Object.values(template.findResources("AWS::IAM::Policy")).map(
    (p) => p.Properties.PolicyDocument.Statement,
  );

describe("QueueConsumer tenant fairness", () => {
  it("writes the quota and its retry delay into the environment; nothing without it", () => {
    const on = Template.fromStack(
      build({
        tenantFairness: { maxInFlightPerTenant: 3, retryAfter: Duration.seconds(4) },
      }).stack,
    );
    expect(variables(on)).toMatchObject({
      SPOOL_TENANT_MAX_IN_FLIGHT: "3",
      SPOOL_TENANT_RETRY_AFTER_SECONDS: "4",
    });
    const off = Template.fromStack(build({}).stack);
    expect(Object.keys(variables(off)).filter((k) => k.startsWith("SPOOL_TENANT"))).toEqual([]);
  });

  it("keeps its leases under the consumer's own key prefix: the grant is the same as without it", () => {
    const fair = Template.fromStack(build({ tenantFairness: { maxInFlightPerTenant: 2 } }).stack);
    const plain = Template.fromStack(build({}).stack);
    expect(policies(fair)).toEqual(policies(plain));
    // "mailer#tenant-quota#<tenant>" matches the one condition on the table; no Scan, no Query.
    const text = JSON.stringify(policies(fair));
    expect(text).toContain('"dynamodb:LeadingKeys":["mailer#*"]');
    expect(text).not.toMatch(/dynamodb:(Scan|Query|BatchWriteItem|\*)/);
  });

  it("alarms per named tenant on a dead-letter spike, and graphs every tenant by SEARCH", () => {
    const { stack } = build(
      {
        serviceName: "mail",
        tenantFairness: { maxInFlightPerTenant: 2, alarmTenants: ["acme", "globex"] },
      },
      { consumerAlarms: { maxTenantDeadLettered: 3 } },
    );
    const template = Template.fromStack(stack);
    const alarms = alarmsOf(template);
    for (const tenant of ["acme", "globex"]) {
      expect(alarms[`Ops-consumer-mailer-tenant-dead-letters-${tenant}`]).toMatchObject({
        Namespace: "Spool",
        MetricName: "TenantDeadLettered",
        Statistic: "Sum",
        Period: 300,
        Threshold: 3,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "notBreaching",
        Dimensions: expect.arrayContaining([
          { Name: "service", Value: "mail" },
          { Name: "consumer", Value: "mailer" },
          { Name: "tenant", Value: tenant },
        ]),
      });
    }
    // A plain metric alarm each: no metric math (Metrics), nothing per unnamed tenant.
    expect(Object.keys(alarms).filter((n) => n.includes("tenant"))).toHaveLength(2);
    expect(Object.values(alarms).filter((a) => a.Metrics !== undefined)).toEqual([]);
    expect(dashboardBody(template)).toContain('MetricName=\\\\\\"TenantDeadLettered\\\\\\"');
  });

  it("makes no tenant alarm or widget without tenant fairness, and the default threshold is 10", () => {
    const without = Template.fromStack(build({}).stack);
    expect(Object.keys(alarmsOf(without)).filter((n) => n.includes("tenant"))).toEqual([]);
    expect(dashboardBody(without)).not.toContain("TenantDeadLettered");
    const named = alarmsOf(
      Template.fromStack(
        build({ tenantFairness: { maxInFlightPerTenant: 1, alarmTenants: ["acme"] } }).stack,
      ),
    );
    expect(named["Ops-consumer-mailer-tenant-dead-letters-acme"]?.Threshold).toBe(10);
  });

  it.each([
    [
      { maxInFlightPerTenant: 0 },
      "tenantFairness.maxInFlightPerTenant must be an integer from 1 to 1000, got 0",
    ],
    [
      { maxInFlightPerTenant: 2.5 },
      "tenantFairness.maxInFlightPerTenant must be an integer from 1 to 1000, got 2.5",
    ],
    [
      { maxInFlightPerTenant: 2, retryAfter: Duration.millis(500) },
      "tenantFairness.retryAfter must be whole seconds from 1 to 900 (an SQS message delay), got 0.5 s",
    ],
    [
      { maxInFlightPerTenant: 2, alarmTenants: ["has space"] },
      'tenantFairness.alarmTenants[0] must be a literal tenant id of 1-128 letters, digits or . _ : -, got "has space"',
    ],
    [
      { maxInFlightPerTenant: 2, alarmTenants: ["a", "a"] },
      'tenantFairness.alarmTenants must not repeat a tenant, got "a" twice',
    ],
  ])("refuses %o, naming the path, the prop and the value", (tenantFairness, message) => {
    expectRefusal(() => build({ tenantFairness }), "Ops/Mailer", message);
  });

  it("refuses a FIFO source and a consumer without an idempotency table", () => {
    expectRefusal(
      () => build({ fifo: true, tenantFairness: { maxInFlightPerTenant: 2 } }),
      "Ops/Mailer",
      "tenantFairness needs a standard source queue (a deferred FIFO record would break its group's order or spend its receives), got a FIFO source",
    );
    expectRefusal(
      () => build({ withTable: false, tenantFairness: { maxInFlightPerTenant: 2 } }),
      "Ops/Mailer",
      "tenantFairness needs idempotencyTable (its leases are kept there, and a deferred record's re-send relies on it to run once), got no idempotencyTable",
    );
  });
});
