import { describe, expect, it } from "vitest";
import {
  bucketOf,
  decide,
  decodeKeySelector,
  encodeKeySelector,
  type RateLimitPolicy,
  SHARED_BUCKET,
} from "../../../../lib/spool/runtime/rate-limit-policy.js";

const FIVE: RateLimitPolicy = { perSecond: 5, burst: 5 };

/** Takes one token per arrival on a fake clock; returns each arrival's start time (or undefined). */
function run(policy: RateLimitPolicy, arrivals: readonly number[], maxWaitMs: number) {
  let tat: number | undefined;
  return arrivals.map((now) => {
    const decision = decide(policy, tat, now, maxWaitMs);
    if (decision.kind === "over") return undefined;
    tat = decision.tat;
    return now + decision.waitMs;
  });
}

describe("token bucket arithmetic", () => {
  it("lets a full bucket's burst start at once, then one record per interval", () => {
    const starts = run(FIVE, Array(8).fill(0), 10_000);
    expect(starts).toEqual([0, 0, 0, 0, 0, 200, 400, 600]);
  });

  it("refuses a token due beyond the wait allowed, saying when it is due", () => {
    let tat: number | undefined;
    for (let i = 0; i < 5; i++) {
      const d = decide(FIVE, tat, 0, 0);
      expect(d.kind).toBe("take");
      if (d.kind === "take") tat = d.tat;
    }
    expect(decide(FIVE, tat, 0, 0)).toEqual({ kind: "over", retryInMs: 200 });
    expect(decide(FIVE, tat, 0, 199)).toEqual({ kind: "over", retryInMs: 200 });
    expect(decide(FIVE, tat, 0, 200)).toMatchObject({ kind: "take", waitMs: 200 });
    // 150 ms later the next token is 50 ms away.
    expect(decide(FIVE, tat, 150, 0)).toEqual({ kind: "over", retryInMs: 50 });
  });

  it("refills while idle, never beyond the burst", () => {
    const first = run(FIVE, Array(5).fill(0), 0);
    expect(first.every((s) => s === 0)).toBe(true);
    // After 10 s idle the bucket holds 5 again, not 50.
    const tat = 1000; // where five tokens at t=0 left it
    const later = [0, 1, 2, 3, 4, 5].map(() => 10_000);
    let t: number | undefined = tat;
    const starts = later.map((now) => {
      const d = decide(FIVE, t, now, 0);
      if (d.kind === "over") return undefined;
      t = d.tat;
      return now + d.waitMs;
    });
    expect(starts).toEqual([10_000, 10_000, 10_000, 10_000, 10_000, undefined]);
  });

  it("handles a fractional rate: 0.5 per second is one record every 2 s", () => {
    expect(run({ perSecond: 0.5, burst: 1 }, [0, 0, 0], 10_000)).toEqual([0, 2000, 4000]);
  });

  it("never starts more than perSecond + burst records in any one-second window", () => {
    // 500 arrivals at pseudo-random times over 20 s, each willing to wait up to 2 s.
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const arrivals = Array.from({ length: 500 }, () => Math.floor(random() * 20_000)).sort(
      (a, b) => a - b,
    );
    const starts = run(FIVE, arrivals, 2000).filter((s): s is number => s !== undefined);
    expect(starts.length).toBeGreaterThan(90);
    for (const from of starts) {
      const inWindow = starts.filter((s) => s >= from && s < from + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(FIVE.perSecond + FIVE.burst);
    }
  });
});

describe("bucket keys", () => {
  it("round-trips both selectors through the environment encoding", () => {
    const body = { source: "body", path: ["tenant", "id"] } as const;
    const attribute = { source: "attribute", name: "tenant-id" } as const;
    expect(encodeKeySelector(body)).toBe("body:tenant.id");
    expect(decodeKeySelector("body:tenant.id")).toEqual(body);
    expect(decodeKeySelector(encodeKeySelector(attribute))).toEqual(attribute);
    for (const bad of ["tenant", "body:", "body:a..b", "header:x", ":x"]) {
      expect(decodeKeySelector(bad)).toBeUndefined();
    }
  });

  it("picks a bucket per value, and the shared bucket where the value is missing", () => {
    const byTenant = { source: "body", path: ["tenant", "id"] } as const;
    expect(bucketOf(byTenant, { tenant: { id: "acme" } }, {})).toBe("acme");
    expect(bucketOf(byTenant, { tenant: { id: 42 } }, {})).toBe("42");
    expect(bucketOf(byTenant, { tenant: {} }, {})).toBe(SHARED_BUCKET);
    expect(bucketOf(byTenant, { tenant: "acme" }, {})).toBe(SHARED_BUCKET);
    expect(bucketOf(byTenant, undefined, {})).toBe(SHARED_BUCKET);
    const byAttribute = { source: "attribute", name: "tenant-id" } as const;
    expect(bucketOf(byAttribute, {}, { "tenant-id": { stringValue: "globex" } })).toBe("globex");
    expect(bucketOf(byAttribute, {}, {})).toBe(SHARED_BUCKET);
    expect(bucketOf(undefined, { tenant: { id: "acme" } }, {})).toBe(SHARED_BUCKET);
  });
});
