import { describe, expect, it } from "vitest";
import {
  assertBackoffPolicy,
  backoffCeilingSeconds,
  DEFAULT_BACKOFF,
  fullJitterDelaySeconds,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
} from "../../../../lib/spool/runtime/backoff.js";

const policy = { baseSeconds: 1, capSeconds: 10 };

describe("backoffCeilingSeconds", () => {
  it("doubles from the base per attempt, then stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffCeilingSeconds(a, policy))).toEqual([
      1, 2, 4, 8, 10, 10,
    ]);
  });

  it("uses the default policy's 2 s base and 300 s cap", () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseSeconds: 2, capSeconds: 300 });
    expect(backoffCeilingSeconds(1, DEFAULT_BACKOFF)).toBe(2);
    expect(backoffCeilingSeconds(8, DEFAULT_BACKOFF)).toBe(256);
    expect(backoffCeilingSeconds(9, DEFAULT_BACKOFF)).toBe(300);
  });

  it("treats attempt 0, negative and fractional attempts as the first ones", () => {
    expect(backoffCeilingSeconds(0, policy)).toBe(1);
    expect(backoffCeilingSeconds(-3, policy)).toBe(1);
    expect(backoffCeilingSeconds(2.9, policy)).toBe(2);
  });

  it("stays finite and capped for huge attempt numbers (2^n overflows)", () => {
    expect(backoffCeilingSeconds(5_000, policy)).toBe(10);
  });

  it("never exceeds the SQS visibility limit even with a larger cap", () => {
    const wide = { baseSeconds: 60, capSeconds: 1_000_000 };
    expect(backoffCeilingSeconds(30, wide)).toBe(MAX_VISIBILITY_TIMEOUT_SECONDS);
    expect(MAX_VISIBILITY_TIMEOUT_SECONDS).toBe(43_200);
  });
});

describe("fullJitterDelaySeconds", () => {
  it("returns 0 for random 0", () => {
    expect(fullJitterDelaySeconds(4, policy, () => 0)).toBe(0);
  });

  it("returns the ceiling for a random just below 1", () => {
    expect(fullJitterDelaySeconds(4, policy, () => 0.999999)).toBe(8);
    expect(fullJitterDelaySeconds(10, policy, () => 0.999999)).toBe(10);
  });

  it("returns about half the ceiling for random 0.5", () => {
    // ceiling 8: floor(0.5 * 9) = 4
    expect(fullJitterDelaySeconds(4, policy, () => 0.5)).toBe(4);
    // ceiling 256 (default policy, attempt 8): floor(0.5 * 257) = 128
    expect(fullJitterDelaySeconds(8, DEFAULT_BACKOFF, () => 0.5)).toBe(128);
  });

  it("returns whole seconds", () => {
    for (const r of [0.1, 0.33, 0.77]) {
      expect(Number.isInteger(fullJitterDelaySeconds(5, DEFAULT_BACKOFF, () => r))).toBe(true);
    }
  });

  it("never goes above the cap, for any random in [0, 1)", () => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      for (const r of [0, 0.25, 0.5, 0.75, 0.9999999999]) {
        const delay = fullJitterDelaySeconds(attempt, policy, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(10, 2 ** (attempt - 1)));
      }
    }
  });

  it("never goes above 43200 s, even with a cap beyond the SQS limit", () => {
    const wide = { baseSeconds: 1_000, capSeconds: 100_000 };
    expect(fullJitterDelaySeconds(20, wide, () => 0.999999)).toBe(43_200);
    expect(fullJitterDelaySeconds(20, wide, () => 1)).toBe(43_200);
  });

  it("rounds a fractional ceiling down (SQS takes whole seconds)", () => {
    const fractional = { baseSeconds: 0.5, capSeconds: 10 };
    expect(fullJitterDelaySeconds(1, fractional, () => 0.999999)).toBe(0);
    expect(fullJitterDelaySeconds(3, fractional, () => 0.999999)).toBe(2);
  });

  it("uses the default policy and Math.random when none is given", () => {
    const delay = fullJitterDelaySeconds(1);
    expect(delay === 0 || delay === 1 || delay === 2).toBe(true);
  });
});

describe("assertBackoffPolicy", () => {
  it("returns a valid policy unchanged", () => {
    const valid = { baseSeconds: 0, capSeconds: 0 };
    expect(assertBackoffPolicy(valid)).toBe(valid);
    expect(assertBackoffPolicy(DEFAULT_BACKOFF)).toBe(DEFAULT_BACKOFF);
    expect(() => assertBackoffPolicy({ baseSeconds: 1, capSeconds: 43_200 })).not.toThrow();
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("rejects baseSeconds %s", (baseSeconds) => {
    expect(() => assertBackoffPolicy({ baseSeconds, capSeconds: 10 })).toThrow(
      `backoff baseSeconds must be a number >= 0, got ${baseSeconds}`,
    );
  });

  it("rejects a cap below the base, naming both", () => {
    expect(() => assertBackoffPolicy({ baseSeconds: 5, capSeconds: 4 })).toThrow(
      "backoff capSeconds must be >= baseSeconds (5), got 4",
    );
  });

  it("rejects a NaN cap", () => {
    expect(() => assertBackoffPolicy({ baseSeconds: 5, capSeconds: Number.NaN })).toThrow(
      "backoff capSeconds must be >= baseSeconds (5), got NaN",
    );
  });

  it("rejects a cap above the SQS visibility limit", () => {
    expect(() => assertBackoffPolicy({ baseSeconds: 1, capSeconds: 43_201 })).toThrow(
      "backoff capSeconds must be <= 43200 (the SQS visibility limit), got 43201",
    );
  });
});
