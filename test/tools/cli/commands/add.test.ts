import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCatalog } from "../../../../tools/cli/lib/closure.js";
import { runSpool } from "../../../../tools/cli/spool.js";
import { ROOT } from "../../../../tools/scripts/emulator.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

let app: string;
beforeEach(() => {
  app = mkdtempSync(join(tmpdir(), "spool-add-"));
});
afterEach(() => rmSync(app, { recursive: true, force: true }));

describe("spool add", () => {
  it("--list prints one line per construct with its summary", async () => {
    const c = capture();
    expect(await runSpool(["add", "--list"], { io: c.io })).toBe(0);
    const lines = c.out().trim().split("\n");
    expect(lines).toHaveLength(Object.keys(readCatalog().constructs).length);
    expect(lines.find((l) => l.startsWith("queue-consumer "))).toMatch(/partial batch/);
  });

  it("refuses an unknown construct with one line and exit 2", async () => {
    const c = capture();
    expect(await runSpool(["add", "queue-consumr", "--app", app], { io: c.io })).toBe(2);
    expect(c.err().trim().split("\n")).toHaveLength(1);
    expect(c.err()).toContain('unknown construct "queue-consumr"; known: reliable-queue');
  });

  it("asks for a construct when given none (exit 2)", async () => {
    const c = capture();
    expect(await runSpool(["add"], { io: c.io })).toBe(2);
    expect(c.err()).toContain("name a construct to add, or use --list");
  });

  it("refuses a folder that is not a CDK app (exit 1), copying nothing", async () => {
    const c = capture();
    expect(await runSpool(["add", "reliable-queue", "--app", app], { io: c.io })).toBe(1);
    expect(c.err()).toMatch(/no CDK app here/);
    expect(existsSync(join(app, "lib"))).toBe(false);
  });

  it("copies into the app and prints the npm dependencies to add", async () => {
    writeFileSync(join(app, "cdk.json"), "{}");
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "a", dependencies: {} }));
    const c = capture();
    expect(
      await runSpool(["add", "reliable-queue", "--app", app, "--dir", "src/spool"], { io: c.io }),
    ).toBe(0);
    expect(existsSync(join(app, "src/spool/reliable-queue/reliable-queue.ts"))).toBe(true);
    expect(c.out()).toMatch(/reliable-queue → src\/spool\/ \(commonjs\): \d+ new/);
    expect(c.out()).toMatch(/npm install --save-exact aws-cdk-lib@\S+ constructs@\S+/);
  });

  it("runs from an app outside this checkout, as the README's `npm exec --package` line does", async () => {
    writeFileSync(join(app, "cdk.json"), "{}");
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "a", dependencies: {} }));
    // The README's route, word for word: the package is this checkout, the command its bin.
    const { stdout } = await promisify(execFile)(
      "npm",
      ["exec", "--yes", `--package=${ROOT}`, "--", "spool", "add", "reliable-queue"],
      { cwd: app, env: { ...process.env, npm_config_update_notifier: "false" } },
    );
    expect(existsSync(join(app, "lib/spool/reliable-queue/reliable-queue.ts"))).toBe(true);
    expect(stdout).toMatch(/npm install --save-exact aws-cdk-lib@\S+ constructs@\S+/);
  });
});
