import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STATE_DIR } from "../../../tools/scripts/emulator.js";
import { STACK_NAME } from "../../../tools/scripts/lib/local-cloud.js";

describe("local deploy", () => {
  it("wrote a reconcile report for this deploy", () => {
    const report = JSON.parse(readFileSync(join(STATE_DIR, "reconcile-report.json"), "utf8"));
    expect(report.stack).toBe(STACK_NAME);
    expect(report.checked).toBeGreaterThan(20);
    // Whatever the emulator dropped was fixed: nothing is left failed.
    expect(report.gaps.filter((g: { action: string }) => g.action === "fix-failed")).toEqual([]);
  });
});
