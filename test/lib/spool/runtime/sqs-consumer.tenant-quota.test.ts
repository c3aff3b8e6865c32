/**
 * The tenant quota's step in the record pipeline (tenant-quota.ts carries it out): after the
 * schema, key and due-time checks, before the idempotency record; and the per-tenant metrics.
 */
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  type FakeTenantQuotaTable,
  fakeTenantQuotaTable,
} from "../../../helpers/fake-tenant-quota-table.js";
import { stringAttribute } from "../../../helpers/sqs.js";
import {
  body,
  failedIds,
  harness,
  invoke,
  NOW,
  record,
  sqsMock,
  useConsumerHarness,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();
const dynamoMock = mockClient(DynamoDBClient);
let table: FakeTenantQuotaTable;
/** Every per-tenant metric published: [name, value, tenant]. */
let tenantMetrics: [string, number, string | undefined][];
beforeEach(() => {
  dynamoMock.reset();
  table = fakeTenantQuotaTable(dynamoMock);
  tenantMetrics = [];
  vi.spyOn(Metrics.prototype, "singleMetric").mockImplementation(() => {
    let tenant: string | undefined;
    return {
      addDimension: (name: string, value: string) => {
        if (name === "tenant") tenant = value;
      },
      addMetric: (name: string, _unit: unknown, value: number) => {
        tenantMetrics.push([name, value, tenant]);
      },
    } as unknown as Metrics;
  });
});

const tenantFairness = { maxInFlightPerTenant: 2, retryAfterMs: 1000 };
const ITEM = (tenant: string) => `test-consumer#tenant-quota#${tenant}`;
const ofTenant = (messageId: string, tenant: string, id = messageId) =>
  record({
    messageId,
    body: body(id),
    messageAttributes: { "tenant-id": stringAttribute(tenant) },
    attributes: { MessageGroupId: tenant },
  });
const resent = () => sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);

describe("a consumer with a per-tenant in-flight quota", () => {
  it("runs a tenant's records up to its quota, defers the rest without burning a receive, and gives the slots back", async () => {
    const h = harness({ config: { tenantFairness } });
    const writes: string[] = [];
    table.beforeWrite = (input) => {
      writes.push(`${input.UpdateExpression?.split(" ")[0]} ${input.Key?.id?.S}`);
    };
    const response = await invoke(
      h,
      ...["a1", "a2", "a3", "a4"].map((id) => ofTenant(id, "acme")),
      ofTenant("b1", "bravo"),
    );
    // All acknowledged: the two over acme's quota were re-sent as copies.
    expect(failedIds(response)).toEqual([]);
    expect(h.process.mock.calls.map(([m]) => m.id).sort()).toEqual(["a1", "a2", "b1"]);
    const copies = resent();
    expect(copies.map((c) => JSON.parse(c.MessageBody ?? "{}").id).sort()).toEqual(["a3", "a4"]);
    // The copy keeps the tenant (attribute and fair-queue group id); 1 s, jitter 0.5 → 2 s.
    expect(copies[0]).toMatchObject({
      MessageGroupId: "acme",
      MessageAttributes: { "tenant-id": { DataType: "String", StringValue: "acme" } },
      DelaySeconds: 2,
    });
    expect(h.metricNames().filter((n) => n === "TenantDeferred")).toHaveLength(2);
    // No idempotency record was taken for the deferred ones; every slot was given back.
    expect(h.store?.table.size).toBe(3);
    expect(table.countOf(ITEM("acme"))).toBe(0);
    expect(table.countOf(ITEM("bravo"))).toBe(0);
    // One write per tenant to take the batch's slots (two for acme's four records, the quota),
    // one per tenant to give them back once the batch is done.
    expect(writes.sort()).toEqual([
      "REMOVE test-consumer#tenant-quota#acme",
      "REMOVE test-consumer#tenant-quota#bravo",
      "SET test-consumer#tenant-quota#acme",
      "SET test-consumer#tenant-quota#bravo",
    ]);
    expect(
      table.updates.find((u) => u.Key?.id?.S === ITEM("acme"))?.ExpressionAttributeValues,
    ).toMatchObject({ ":k": { N: "2" } });
  });

  it("takes a batch's slots for a tenant all at once or not at all, so its running records stay together", async () => {
    // One of acme's two slots is held elsewhere: this batch's three records of acme take none.
    table.setLeases(ITEM("acme"), { L1_x: NOW.getTime() + 60_000 });
    const h = harness({ config: { tenantFairness } });
    await invoke(h, ...["a1", "a2", "a3"].map((id) => ofTenant(id, "acme")));
    expect(h.process).not.toHaveBeenCalled();
    expect(resent()).toHaveLength(3);
    expect(table.countOf(ITEM("acme"))).toBe(1);
  });

  it("defers a full tenant's further records in the batch without calling DynamoDB again", async () => {
    table.setLeases(ITEM("acme"), { L2_x: NOW.getTime() + 60_000 });
    const h = harness({ config: { tenantFairness } });
    await invoke(h, ...Array.from({ length: 8 }, (_, i) => ofTenant(`a${i}`, "acme")));
    expect(h.process).not.toHaveBeenCalled();
    expect(resent()).toHaveLength(8);
    // One failed take (the first record finds acme full); the other seven ask nobody.
    expect(dynamoMock.commandCalls(UpdateItemCommand)).toHaveLength(1);
    expect(table.reads).toHaveLength(0);
  });

  it("recovers the slots of an invocation that died: expired leases are reclaimed", async () => {
    table.setLeases(ITEM("acme"), { L1_x: NOW.getTime() - 1, L1_y: NOW.getTime() - 1 });
    const h = harness({ config: { tenantFairness } });
    const response = await invoke(h, ofTenant("a1", "acme"));
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(h.metricNames()).toContain("TenantLeasesReclaimed");
    expect(table.countOf(ITEM("acme"))).toBe(0);
  });

  it("holds a lease until the invocation can no longer run (plus a margin), and gives it back after a failure", async () => {
    const h = harness({
      config: { tenantFairness },
      process: async () => {
        const leases = Object.values(table.leasesOf(ITEM("acme")));
        // lambdaContext() leaves 30 s; the margin is 5 s.
        expect(leases).toEqual([NOW.getTime() + 35_000]);
        throw new Error("provider down");
      },
    });
    const response = await invoke(h, ofTenant("a1", "acme"));
    expect(failedIds(response)).toEqual(["a1"]);
    expect(table.countOf(ITEM("acme"))).toBe(0);
  });

  it("leaves records without a tenant, and FIFO records, unlimited and uncounted", async () => {
    const h = harness({ config: { tenantFairness } });
    await invoke(
      h,
      ...Array.from({ length: 5 }, (_, i) => record({ messageId: `m${i}`, body: body(`m${i}`) })),
      record({
        messageId: "f1",
        body: body("f1"),
        fifo: true,
        messageAttributes: { "tenant-id": stringAttribute("acme") },
      }),
    );
    expect(h.process).toHaveBeenCalledTimes(6);
    expect(dynamoMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
    // Only the FIFO record has a tenant: it is counted for acme, though not held to the quota.
    expect(tenantMetrics.map(([name, , tenant]) => [name, tenant])).toEqual([
      ["TenantProcessed", "acme"],
      ["TenantMessageAge", "acme"],
    ]);
  });

  it("treats a quota table it cannot reach as a transient failure: the record comes back", async () => {
    dynamoMock.reset();
    dynamoMock.rejects(new Error("throttled"));
    const h = harness({ config: { tenantFairness } });
    const response = await invoke(h, ofTenant("a1", "acme"));
    expect(failedIds(response)).toEqual(["a1"]);
    expect(h.process).not.toHaveBeenCalled();
    expect(resent()).toHaveLength(0);
  });

  it("publishes processed, age and dead-lettered per tenant, once per batch", async () => {
    const h = harness({
      config: { tenantFairness: { ...tenantFairness, maxInFlightPerTenant: 10 } },
    });
    await invoke(
      h,
      ofTenant("a1", "acme"),
      ofTenant("a2", "acme"),
      record({
        messageId: "bad",
        body: { schemaVersion: 1 },
        messageAttributes: { "tenant-id": stringAttribute("bravo") },
      }),
    );
    // SentTimestamp is 09:59:59 in the fixtures, the clock 10:05:00: 301 s old.
    expect(tenantMetrics).toEqual(
      expect.arrayContaining([
        ["TenantProcessed", 2, "acme"],
        ["TenantMessageAge", 301_000, "acme"],
        ["TenantDeadLettered", 1, "bravo"],
      ]),
    );
    expect(tenantMetrics).toHaveLength(3);
  });
});
