import { describe, expect, it } from "vitest";
import {
  atExpression,
  routeFor,
  scheduleNameFor,
} from "../../../../../lib/spool/delayed-tasks/runtime/dispatch.js";
import { FIFO, STANDARD } from "../../../../helpers/delayed-tasks.js";

describe("routeFor", () => {
  it("delays on SQS up to 900 s on a standard queue, schedules beyond, for FIFO or when forced", () => {
    expect(routeFor(STANDARD, 900)).toBe("queue-delay");
    expect(routeFor(STANDARD, 901)).toBe("scheduler");
    expect(routeFor(FIFO, 5)).toBe("scheduler");
    expect(routeFor(STANDARD, 5, "scheduler")).toBe("scheduler");
  });
});

describe("scheduleNameFor and atExpression", () => {
  it("keeps a key a schedule name can hold, hashes one it cannot", () => {
    expect(scheduleNameFor("reminder-1.a_b")).toBe("reminder-1.a_b");
    const hashed = scheduleNameFor("cart-reminder#order 42");
    expect(hashed).toMatch(/^cart-reminder-order-42--[0-9a-f]{24}$/);
    expect(scheduleNameFor("cart-reminder#order 42")).toBe(hashed);
    expect(scheduleNameFor("cart-reminder#order 43")).not.toBe(hashed);
    const long = scheduleNameFor("x".repeat(300));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[0-9A-Za-z_.-]+$/);
    expect(scheduleNameFor("###")).toMatch(/^h-[0-9a-f]{24}$/);
  });

  it("rounds at() up to the second, never early", () => {
    expect(atExpression(new Date("2026-03-01T10:00:00.000Z"))).toBe("at(2026-03-01T10:00:00)");
    expect(atExpression(new Date("2026-03-01T10:00:00.001Z"))).toBe("at(2026-03-01T10:00:01)");
  });
});
