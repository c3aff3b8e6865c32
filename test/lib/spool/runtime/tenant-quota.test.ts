/**
 * The tenant quota's slots (tenant-quota.ts) against a fake table that evaluates its conditional
 * writes: leases taken up to the quota, given back, and reclaimed once expired.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { expiredLeases, TenantSlots } from "../../../../lib/spool/runtime/tenant-quota.js";
import {
  type FakeTenantQuotaTable,
  fakeTenantQuotaTable,
} from "../../../helpers/fake-tenant-quota-table.js";

const dynamoMock = mockClient(DynamoDBClient);
let table: FakeTenantQuotaTable;
let nowMs = 1_000_000;
let ids = 0;
const ITEM = "c#tenant-quota#acme";

function slots(max: number) {
  return new TenantSlots(
    "idempotency",
    "c",
    max,
    new DynamoDBClient({ region: "us-east-1" }),
    () => new Date(nowMs),
    () => `lease${++ids}`,
  );
}

beforeEach(() => {
  dynamoMock.reset();
  table = fakeTenantQuotaTable(dynamoMock);
  nowMs = 1_000_000;
  ids = 0;
});

describe("TenantSlots", () => {
  it("gives out slots up to the quota, then answers full; a release makes room again", async () => {
    const s = slots(2);
    expect(await s.acquire("acme", nowMs + 30_000)).toEqual({
      kind: "taken",
      leaseId: "lease1",
      reclaimed: 0,
    });
    expect((await s.acquire("acme", nowMs + 30_000)).kind).toBe("taken");
    expect(await s.acquire("acme", nowMs + 30_000)).toEqual({ kind: "full", reclaimed: 0 });
    expect(table.countOf(ITEM)).toBe(2);
    expect(Object.keys(table.leasesOf(ITEM)).sort()).toEqual(["L_lease1", "L_lease2"]);

    expect(await s.release("acme", "lease1")).toBe(true);
    expect(table.countOf(ITEM)).toBe(1);
    expect((await s.acquire("acme", nowMs + 30_000)).kind).toBe("taken");
    // Another tenant has its own item and its own quota.
    expect((await s.acquire("other", nowMs + 30_000)).kind).toBe("taken");
    expect(table.countOf("c#tenant-quota#other")).toBe(1);
    // The item expires (TTL) an hour after its newest lease would.
    expect(table.items.get(ITEM)?.expiration?.N).toBe(String(Math.ceil(1_030_000 / 1000) + 3600));
  });

  it("reclaims leases a dead invocation left once they expire, and only those", async () => {
    // Two slots held: one by an invocation that died (expired), one still running.
    table.setLeases(ITEM, { L_dead: nowMs - 1, L_alive: nowMs + 10_000 });
    const s = slots(2);
    expect(await s.acquire("acme", nowMs + 30_000)).toEqual({
      kind: "taken",
      leaseId: "lease2",
      reclaimed: 1,
    });
    expect(table.leasesOf(ITEM)).toEqual({ L_alive: nowMs + 10_000, L_lease2: nowMs + 30_000 });
    expect(table.countOf(ITEM)).toBe(2);
    // Nothing expired now: full, and nothing removed.
    expect(await s.acquire("acme", nowMs + 30_000)).toEqual({ kind: "full", reclaimed: 0 });
    expect(table.countOf(ITEM)).toBe(2);
    // The live lease's release still works; the dead one's late release finds nothing to give back.
    expect(await s.release("acme", "dead")).toBe(false);
    expect(table.countOf(ITEM)).toBe(2);
  });

  it("reads the item when the failed condition returns none (an emulator)", async () => {
    table.returnItemOnFailure = false;
    table.setLeases(ITEM, { L_dead: nowMs - 1 });
    const s = slots(1);
    expect((await s.acquire("acme", nowMs + 30_000)).kind).toBe("taken");
    expect(table.reads).toHaveLength(1);
    expect(table.reads[0]?.ConsistentRead).toBe(true);
  });

  it("does not count a lease twice when another invocation reclaims it first", async () => {
    table.setLeases(ITEM, { L_dead: nowMs - 1 });
    expect(expiredLeases(table.items.get(ITEM), nowMs)).toEqual([["L_dead", String(nowMs - 1)]]);
    // Between reading the item and reclaiming, another invocation reclaimed L_dead and took the
    // slot: this reclaim's condition fails, the count is left alone, and the tenant is full.
    table.beforeWrite = (input) => {
      if (input.ConditionExpression === "#lease = :until") {
        table.setLeases(ITEM, { L_other: nowMs + 30_000 });
      }
    };
    expect(await slots(1).acquire("acme", nowMs + 30_000)).toEqual({ kind: "full", reclaimed: 0 });
    expect(table.countOf(ITEM)).toBe(1);
    expect(table.leasesOf(ITEM)).toEqual({ L_other: nowMs + 30_000 });
  });
});
