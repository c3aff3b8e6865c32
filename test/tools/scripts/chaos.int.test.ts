import { describe, expect, it } from "vitest";
import { runChaos, SMALL_CHAOS } from "../../../tools/scripts/chaos/run-chaos.js";
import { clients, output } from "../../helpers/cloud.js";

describe("chaos: the total-queue check (small)", () => {
  it("accounts for every message under injected faults, timeouts, throttling, duplicates and poison", async () => {
    const report = await runChaos(clients, output, SMALL_CHAOS);
    process.stderr.write(`[chaos] ${JSON.stringify(report)}\n`);
    expect(report.drained).toBe(true);
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.orderViolations).toBe(0);
    // Each poison message at least once (a redelivered batch may dead-letter it twice).
    expect(report.poisonDeadLettered).toBe(report.poisonSent);
    expect(report.poisonWithoutMetadata).toBe(0);
    // Work that is done never reaches a dead-letter queue (0 in each emulator run so far; the one
    // case left, a FIFO step still running at its last delivery's deadline, needs a stall after
    // four failed deliveries, far rarer than this run's rates make likely).
    expect(report.doubleOutcomeSamples).toEqual([]);
    expect(report.doubleOutcomes).toBe(0);
    // The faults really happened: the run would prove nothing without retries.
    expect(report.retries).toBeGreaterThan(0);
    expect(report.effects + report.deadLetters).toBeGreaterThanOrEqual(
      report.keys - report.poisonSent,
    );
  }, 360_000);
});
