import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  currentBuild,
  inputStats,
  MANIFEST_FORMAT,
  manifestPath,
  sourcesKey,
} from "../../../tools/cli/bin/compiled.mjs";
import { buildCli, type CliBuild } from "../../../tools/cli/build.js";
import { bufferIo } from "../../../tools/cli/lib/io.js";
import { PROJECT_DIR } from "../../../tools/cli/lib/project.js";
import { runSpool } from "../../../tools/cli/spool.js";

const launcher = fileURLToPath(new URL("../../../tools/cli/bin/spool.mjs", import.meta.url));

/** What loading the entry module loads before any `import()`: its chunk and their static imports. */
function startupInputs(metafile: Metafile): string[] {
  const outputs = metafile.outputs;
  const entry = Object.keys(outputs).find((o) => outputs[o]?.entryPoint?.endsWith("main.ts"));
  if (!entry) throw new Error("no entry chunk in the build");
  const loaded = new Set<string>();
  const visit = (output: string) => {
    if (loaded.has(output)) return;
    loaded.add(output);
    for (const i of outputs[output]?.imports ?? []) {
      if (i.kind === "import-statement" && !i.external) visit(i.path);
    }
  };
  visit(entry);
  return [...loaded].flatMap((o) => Object.keys(outputs[o]?.inputs ?? {}));
}

/** `node tools/cli/bin/spool.mjs <argv>` as a user runs it, against no endpoint at all. */
function spool(...argv: string[]) {
  const run = spawnSync(process.execPath, [launcher, ...argv], {
    encoding: "utf8",
    env: { ...process.env, AWS_ENDPOINT_URL: "http://127.0.0.1:9", NODE_OPTIONS: "" },
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe("the compiled CLI", () => {
  let built: CliBuild;
  beforeAll(async () => {
    built = await buildCli();
  }, 120_000);

  it("starts without the AWS SDK: help reads commander and the command declarations only", () => {
    const heavy = /node_modules\/(@aws-sdk|@smithy|@aws-crypto|zod|luxon|cron-parser)\//;
    const atStartup = startupInputs(built.metafile);
    expect(atStartup.some((i) => i.endsWith("tools/cli/commands/dlq.ts"))).toBe(true);
    // A command module that imports the SDK (or a module that does) at its top puts it here: load
    // it inside the action instead (tools/cli/README.md, "Adding commands").
    expect(atStartup.filter((i) => heavy.test(i))).toEqual([]);
    // The SDK is in the build all the same, in chunks a command loads when it runs.
    expect(Object.keys(built.metafile.inputs).some((i) => i.includes("@aws-sdk/client-sqs/"))).toBe(
      true,
    );
  });

  it("is the build the launcher runs, keyed by its sources", () => {
    expect(currentBuild(PROJECT_DIR)).toBe(built.entry);
    expect(built.inputs).toContain(join(PROJECT_DIR, "tools", "cli", "commands", "status.ts"));
    // npm packages by their package.json (their version), not file by file.
    expect(built.inputs.filter((i) => i.includes("@aws-sdk/client-sqs"))).toEqual([
      expect.stringMatching(/node_modules\/@aws-sdk\/client-sqs\/package\.json$/),
    ]);
  });

  it("prints the same help as the sources, exit code 0", async () => {
    const io = bufferIo();
    expect(await runSpool(["--help"], { io })).toBe(0);
    const run = spool("--help");
    expect(run).toMatchObject({ code: 0, err: "" });
    expect(run.out).toBe(io.out());
  });

  it("finds Spool's files from its build folder: the version and the catalog", () => {
    const version = spool("--version");
    expect(version).toMatchObject({ code: 0, out: "0.1.0\n" });
    const list = spool("add", "--list");
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^queue-consumer {2,}/m);
  });

  it("keeps one-line errors and their exit codes: 2 for a bad argument, 1 for a failure", () => {
    expect(spool("frobnicate")).toMatchObject({
      code: 2,
      err: "spool: unknown command 'frobnicate' (see spool --help)\n",
    });
    // The SDK, loaded from its chunk, reaches for the endpoint and is told no.
    const status = spool("status");
    expect(status.code).toBe(1);
    expect(status.err).toMatch(/^spool: cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
    expect(status.err.trim().split("\n")).toHaveLength(1);
  });
});

describe("whether a build is current", () => {
  const project = mkdtempSync(join(tmpdir(), "spool-cli-build-"));
  afterAll(() => rmSync(project, { recursive: true, force: true }));
  const source = join(project, "a.ts");
  const entry = join(project, ".spool", "cli", "k", "main.mjs");

  function writeBuild(manifest: Record<string, unknown>) {
    mkdirSync(join(project, ".spool", "cli", "k"), { recursive: true });
    writeFileSync(entry, "");
    writeFileSync(manifestPath(project), JSON.stringify(manifest));
  }

  it("is while its inputs hold what they held, and is not once one changes or goes", () => {
    writeFileSync(source, "export const a = 1;\n");
    writeBuild({ format: MANIFEST_FORMAT, key: sourcesKey([source]), entry, inputs: [source] });
    expect(currentBuild(project)).toBe(entry);

    writeFileSync(source, "export const a = 2;\n");
    expect(currentBuild(project)).toBeUndefined();
    writeFileSync(source, "export const a = 1;\n");
    expect(currentBuild(project)).toBe(entry);

    rmSync(source);
    expect(currentBuild(project)).toBeUndefined();
  });

  it("takes inputs of the size and time they had at the build as unchanged, without reading them", () => {
    writeFileSync(source, "export const a = 1;\n");
    // A key that no content has: only the sizes and times can vouch for the build.
    writeBuild({
      format: MANIFEST_FORMAT,
      key: "0",
      entry,
      inputs: [source],
      stats: inputStats([source]),
    });
    expect(currentBuild(project)).toBe(entry);
    writeFileSync(source, "export const a = 10;\n");
    expect(currentBuild(project)).toBeUndefined();
  });

  it("is not when the manifest is of another format, or is missing", () => {
    writeFileSync(source, "export const a = 1;\n");
    writeBuild({ format: MANIFEST_FORMAT + 1, key: sourcesKey([source]), entry, inputs: [source] });
    expect(currentBuild(project)).toBeUndefined();
    rmSync(manifestPath(project));
    expect(currentBuild(project)).toBeUndefined();
  });
});
