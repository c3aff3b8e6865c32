/**
 * `npm run chaos` with a bad argument: a usage error exits 2 with one line naming it, before it
 * deploys or sends anything (the brief's rule for every command line Spool ships).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function chaos(...args: string[]) {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "tools/scripts/chaos.ts", ...args],
    // No emulator on this port: a run that got past its arguments would fail differently.
    {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, AWS_ENDPOINT_URL: "http://127.0.0.1:9" },
    },
  );
  return { code: run.status, stderr: run.stderr.trim(), stdout: run.stdout };
}

describe("npm run chaos arguments", () => {
  it.each([
    [["--messages", "abc"], "--messages <n>' argument 'abc' is invalid"],
    [["--faults", "120"], "expected 0–100, got 120"],
    [["--bogus"], "unknown option '--bogus'"],
    [["--groups", "0"], "--groups must be at least 1"],
  ])("%j exits 2 with one line", (args, message) => {
    const { code, stderr } = chaos(...args);
    expect(code).toBe(2);
    expect(stderr.split("\n")).toHaveLength(1);
    expect(stderr).toContain(message);
    expect(stderr.startsWith("chaos: ")).toBe(true);
  });

  it("--help exits 0 and lists the scenarios", () => {
    const { code, stdout } = chaos("--help");
    expect(code).toBe(0);
    expect(stdout).toContain("--storm");
  });
});
