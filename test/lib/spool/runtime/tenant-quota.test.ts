/**
 * The tenant quota's slots (tenant-quota.ts) against a fake table that evaluates its conditional
 * writes: leases of k slots taken up to the quota, given back, and reclaimed once expired.
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
const nowMs = 1_000_000;
const until = nowMs + 30_000;
let ids = 0;
const ITEM = "c#tenant-quota#acme";

function slots(max: number) {
  return new TenantSlots(
    "idempotency",
    "c",
    max,
    new DynamoDBClient({ region: "us-east-1" }),
    () => new Date(nowMs),
    () => `x${++ids}`,
  );
}

beforeEach(() => {
  dynamoMock.reset();
  table = fakeTenantQuotaTable(dynamoMock);
  ids = 0;
});

describe("TenantSlots", () => {
  it("takes k slots in one write, or none when fewer are free; a release makes room again", async () => {
    const s = slots(5);
    expect(await s.acquire("acme", 3, until)).toEqual({
      kind: "taken",
      lease: "L3_x1",
      reclaimed: 0,
    });
    // Two are free: a batch of three takes none (its records are deferred together)...
    expect(await s.acquire("acme", 3, until)).toEqual({ kind: "full", reclaimed: 0 });
    // ...one of two takes them.
    expect((await s.acquire("acme", 2, until)).kind).toBe("taken");
    expect(table.countOf(ITEM)).toBe(5);
    expect(Object.keys(table.leasesOf(ITEM)).sort()).toEqual(["L2_x3", "L3_x1"]);
    expect(dynamoMock.calls()).toHaveLength(3);

    expect(await s.release("acme", "L3_x1")).toBe(true);
    expect(table.countOf(ITEM)).toBe(2);
    expect((await s.acquire("acme", 3, until)).kind).toBe("taken");
    // Another tenant has its own item and its own quota.
    expect((await s.acquire("other", 5, until)).kind).toBe("taken");
    expect(table.countOf("c#tenant-quota#other")).toBe(5);
    // The item expires (TTL) an hour after its newest lease would.
    expect(table.items.get(ITEM)?.expiration?.N).toBe(String(Math.ceil(until / 1000) + 3600));
  });

  it("never takes more than the quota, whatever a batch asks", async () => {
    const s = slots(2);
    expect(await s.acquire("acme", 10, until)).toMatchObject({ kind: "taken", lease: "L2_x1" });
    expect(table.countOf(ITEM)).toBe(2);
    expect((await s.acquire("acme", 1, until)).kind).toBe("full");
  });

  it("reclaims leases a dead invocation left once they expire, and only those", async () => {
    // Slots held by an invocation that died (expired) and one still running.
    table.setLeases(ITEM, { L2_dead: nowMs - 1, L1_alive: nowMs + 10_000 });
    const s = slots(3);
    expect(await s.acquire("acme", 2, until)).toEqual({
      kind: "taken",
      lease: "L2_x2",
      reclaimed: 2,
    });
    expect(table.leasesOf(ITEM)).toEqual({ L1_alive: nowMs + 10_000, L2_x2: until });
    expect(table.countOf(ITEM)).toBe(3);
    // Nothing expired now: full, and nothing removed.
    expect(await s.acquire("acme", 1, until)).toEqual({ kind: "full", reclaimed: 0 });
    expect(table.countOf(ITEM)).toBe(3);
    // The dead invocation's late release finds nothing to give back, and changes nothing.
    expect(await s.release("acme", "L2_dead")).toBe(false);
    expect(table.countOf(ITEM)).toBe(3);
  });

  it("reads the item when the failed condition returns none (an emulator)", async () => {
    table.returnItemOnFailure = false;
    table.setLeases(ITEM, { L1_dead: nowMs - 1 });
    expect((await slots(1).acquire("acme", 1, until)).kind).toBe("taken");
    expect(table.reads).toHaveLength(1);
    expect(table.reads[0]?.ConsistentRead).toBe(true);
  });

  it("does not count a lease twice when another invocation reclaims it first", async () => {
    table.setLeases(ITEM, { L1_dead: nowMs - 1 });
    expect(expiredLeases(table.items.get(ITEM), nowMs)).toEqual([["L1_dead", String(nowMs - 1)]]);
    // Between reading the item and reclaiming, another invocation reclaimed L1_dead and took the
    // slot: this reclaim's condition fails, the count is left alone, and the tenant is full.
    table.beforeWrite = (input) => {
      if (input.ConditionExpression === "#lease = :until") {
        table.setLeases(ITEM, { L1_other: until });
      }
    };
    expect(await slots(1).acquire("acme", 1, until)).toEqual({ kind: "full", reclaimed: 0 });
    expect(table.countOf(ITEM)).toBe(1);
    expect(table.leasesOf(ITEM)).toEqual({ L1_other: until });
  });
});
