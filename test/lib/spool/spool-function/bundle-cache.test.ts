import childProcess from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, AssetStaging, Stack } from "aws-cdk-lib";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BUNDLE_CACHE_CONTEXT,
  SpoolFunction,
  type SpoolFunctionProps,
} from "../../../../lib/spool/spool-function/index.js";

const NODE_MODULES = fileURLToPath(new URL("../../../../node_modules", import.meta.url));
const roots: string[] = [];

/**
 * A project of its own in a temp folder (lock file, node_modules linked to this repository's, so
 * `npx --no-install esbuild` finds esbuild there): an entry importing `./dep`.
 */
function project(): { root: string; write: (file: string, content: string) => void } {
  const root = mkdtempSync(join(tmpdir(), "spool-bundle-cache-"));
  roots.push(root);
  symlinkSync(NODE_MODULES, join(root, "node_modules"));
  const write = (file: string, content: string) => {
    writeFileSync(join(root, file), content);
    // Written a minute ago: a file written while (or just before) esbuild runs is never recorded.
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(root, file), past, past);
  };
  write("package.json", JSON.stringify({ name: "bundle-cache-test", type: "module" }));
  write("package-lock.json", JSON.stringify({ lockfileVersion: 3, packages: {} }));
  write(
    "handler.ts",
    [
      'import { message } from "./dep";',
      // Compiled to "false" unless the function asks for the fault injector (a define).
      "export const faults = process.env.SPOOL_FAULT_INJECTION_BUNDLED;",
      "export const handler = async () => message;",
    ].join("\n"),
  );
  write("dep.ts", 'export const message = "first";\n');
  return { root, write };
}

interface Synth {
  readonly reused: boolean;
  readonly s3Key: string;
  readonly assetDir: string;
  readonly code: string;
  readonly template: unknown;
}

/** One synth of one function into `outdir`, as `cdk synth` runs the app. */
function synth(
  root: string,
  outdir: string,
  props: Partial<SpoolFunctionProps> = {},
  context: Record<string, unknown> = {},
): Synth {
  // Each synth as its own `cdk synth` process: CDK's in-process cache of staged assets forgotten.
  AssetStaging.clearAssetHashCache();
  // Version reporting on, as under the CLI: the template's AWS::CDK::Metadata is compared too.
  const app = new App({ outdir, context, analyticsReporting: true });
  const stack = new Stack(app, "Test", { env: { account: "111111111111", region: "us-east-1" } });
  const fn = new SpoolFunction(stack, "Fn", {
    entry: join(root, "handler.ts"),
    depsLockFilePath: join(root, "package-lock.json"),
    ...props,
  });
  const assembly = app.synth();
  const template = assembly.getStackByName("Test").template as {
    Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
  };
  const lambda = Object.values(template.Resources).find((r) => r.Type === "AWS::Lambda::Function");
  const s3Key = String(lambda?.Properties.Code?.S3Key);
  const assetDir = join(outdir, `asset.${s3Key.replace(/\.zip$/, "")}`);
  return {
    reused: fn.bundleReused,
    s3Key,
    assetDir,
    code: readFileSync(join(assetDir, "index.mjs"), "utf8"),
    template,
  };
}

describe("SpoolFunction bundle reuse", () => {
  let esbuildRuns: () => number;

  beforeEach(() => {
    // NodejsFunction runs esbuild through child_process.spawnSync (`npx --no-install esbuild`).
    const spawn = vi.spyOn(childProcess, "spawnSync");
    esbuildRuns = () =>
      spawn.mock.calls.filter(([command, args]) =>
        [command, ...((args as readonly string[] | undefined) ?? [])].includes("esbuild"),
      ).length;
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it("reuses the bundle of an unchanged function: esbuild does not run, the template is the same", () => {
    const { root } = project();
    const outdir = join(root, "cdk.out");
    const first = synth(root, outdir);
    expect(esbuildRuns()).toBe(1);
    expect(first.reused).toBe(false);

    const second = synth(root, outdir);
    expect(esbuildRuns()).toBe(1);
    expect(second.reused).toBe(true);
    expect(second.s3Key).toBe(first.s3Key);
    expect(second.code).toBe(first.code);
    // Byte for byte, AWS::CDK::Metadata included: a reused bundle is never a change to deploy.
    expect(JSON.stringify(second.template)).toBe(JSON.stringify(first.template));
    // What esbuild read is recorded beside the assets, never shipped in one.
    expect(existsSync(join(second.assetDir, "index.meta.json"))).toBe(false);
  });

  it("rebuilds when a file the bundle includes changes, and deploys the new bundle", () => {
    const { root, write } = project();
    const outdir = join(root, "cdk.out");
    const first = synth(root, outdir);
    write("dep.ts", 'export const message = "second";\n');

    const changed = synth(root, outdir);
    expect(esbuildRuns()).toBe(2);
    expect(changed.reused).toBe(false);
    expect(changed.s3Key).not.toBe(first.s3Key);
    expect(changed.code).toContain("second");
    expect(changed.code).not.toContain("first");
    // And the rebuilt bundle is the one reused next.
    const again = synth(root, outdir);
    expect(esbuildRuns()).toBe(2);
    expect(again.s3Key).toBe(changed.s3Key);
  });

  it("rebuilds when a change of file set changes what an import resolves to", () => {
    const { root, write } = project();
    const outdir = join(root, "cdk.out");
    write("dep.ts", "");
    rmSync(join(root, "dep.ts"));
    write("dep.js", 'export const message = "from js";\n');
    const first = synth(root, outdir);
    expect(first.code).toContain("from js");
    // esbuild tries .ts before .js: dep.ts, never read by the first build, now wins.
    write("dep.ts", 'export const message = "from ts";\n');

    const shadowed = synth(root, outdir);
    expect(esbuildRuns()).toBe(2);
    expect(shadowed.code).toContain("from ts");
    expect(shadowed.s3Key).not.toBe(first.s3Key);
  });

  it("rebuilds when a package.json above an input changes", () => {
    const { root, write } = project();
    const outdir = join(root, "cdk.out");
    synth(root, outdir);
    write("package.json", JSON.stringify({ name: "bundle-cache-test", sideEffects: false }));

    expect(synth(root, outdir).reused).toBe(false);
    expect(esbuildRuns()).toBe(2);
  });

  it("rebuilds when a tsconfig.json extended by the one above an input changes", () => {
    const { root, write } = project();
    const outdir = join(root, "cdk.out");
    mkdirSync(join(root, "configs"));
    write("configs/base.json", JSON.stringify({ compilerOptions: { target: "ES2022" } }));
    write("tsconfig.json", JSON.stringify({ extends: "./configs/base" }));
    synth(root, outdir);
    expect(synth(root, outdir).reused).toBe(true);
    write("configs/base.json", JSON.stringify({ compilerOptions: { target: "ES2020" } }));

    expect(synth(root, outdir).reused).toBe(false);
    expect(esbuildRuns()).toBe(2);
  });

  it("rebuilds when a bundling option (a define) changes", () => {
    const { root } = project();
    const outdir = join(root, "cdk.out");
    const production = synth(root, outdir);
    expect(production.code).toContain('"false"');

    const testHooks = synth(root, outdir, {
      environment: { SPOOL_FAULT_INJECTION: "enabled" },
    });
    expect(esbuildRuns()).toBe(2);
    expect(testHooks.reused).toBe(false);
    expect(testHooks.code).toContain("process.env.SPOOL_FAULT_INJECTION_BUNDLED");
    expect(testHooks.s3Key).not.toBe(production.s3Key);
    // Each keeps its own record: back to production reuses the first bundle.
    const back = synth(root, outdir);
    expect(esbuildRuns()).toBe(2);
    expect(back.s3Key).toBe(production.s3Key);
  });

  it("rebuilds when the reused asset is gone from the cloud assembly", () => {
    const { root } = project();
    const outdir = join(root, "cdk.out");
    const first = synth(root, outdir);
    rmSync(first.assetDir, { recursive: true });

    const rebuilt = synth(root, outdir);
    expect(esbuildRuns()).toBe(2);
    expect(rebuilt.s3Key).toBe(first.s3Key);
  });

  it("with spool:bundleCache=false always bundles", () => {
    const { root } = project();
    const outdir = join(root, "cdk.out");
    const off = { [BUNDLE_CACHE_CONTEXT]: "false" };
    const first = synth(root, outdir, {}, off);
    const second = synth(root, outdir, {}, off);
    expect(esbuildRuns()).toBe(2);
    expect(second.reused).toBe(false);
    expect(second.s3Key).toBe(first.s3Key);
    expect(existsSync(join(outdir, ".spool-bundle-cache"))).toBe(false);
  });

  it("keeps a requested metafile in the bundle, and still reuses it", () => {
    const { root } = project();
    const outdir = join(root, "cdk.out");
    const metafile = { "spool:bundleMetafile": "true" };
    const first = synth(root, outdir, {}, metafile);
    expect(existsSync(join(first.assetDir, "index.meta.json"))).toBe(true);
    const second = synth(root, outdir, {}, metafile);
    expect(esbuildRuns()).toBe(1);
    expect(second.s3Key).toBe(first.s3Key);
  });

  it("does not reuse across cloud assemblies: a fresh outdir bundles", () => {
    const { root } = project();
    synth(root, join(root, "cdk.out"));
    mkdirSync(join(root, "other"));
    synth(root, join(root, "other", "cdk.out"));
    expect(esbuildRuns()).toBe(2);
  });
});
