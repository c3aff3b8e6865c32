import { describe, expect, it } from "vitest";
import {
  runBurst,
  runStorm,
  SMALL_BURST,
  SMALL_STORM,
} from "../../../tools/scripts/chaos/scenarios.js";
import { clients, output } from "../../helpers/cloud.js";

// Its own file so it runs beside chaos.int.test.ts (fileParallelism); the two scenarios run
// concurrently too: each accounts only for its own run's keys, so sharing the queues is fine.
describe.concurrent("chaos: retry storm and burst (small)", () => {
  it("a dependency degraded for a window loses nothing, applies nothing twice, and drains", async () => {
    const report = await runStorm(clients, output, SMALL_STORM);
    process.stderr.write(`[storm] ${JSON.stringify(report)}\n`);
    expect(report.drained).toBe(true);
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.orderViolations).toBe(0);
    expect(report.doubleOutcomes).toBe(0);
    // The storm really happened: transient failures inside the window.
    expect(report.retriesDuringStorm).toBeGreaterThan(0);
    // The only dead letters a storm may cause: messages out of attempts, none with an effect.
    expect(report.deadLetters).toBe(report.exhaustedDeadLetters);
    expect(report.exhaustedWithEffect).toBe(0);
  }, 300_000);

  it("a burst of 20 × the consumer's capacity loses nothing, applies nothing twice, and drains", async () => {
    const report = await runBurst(clients, output, SMALL_BURST);
    process.stderr.write(`[burst] ${JSON.stringify(report)}\n`);
    expect(report.capacity).toBeGreaterThan(0);
    expect(report.sent).toBe(report.capacity * SMALL_BURST.times);
    expect(report.drained).toBe(true);
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.effects).toBe(report.sent);
    expect(report.deadLetters).toBe(0);
    expect(report.doubleOutcomes).toBe(0);
  }, 300_000);
});
