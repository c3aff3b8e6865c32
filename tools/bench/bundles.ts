import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { CONSUMER_ENV } from "../../lib/spool/runtime/consumer-config.js";
import { BUNDLE_METAFILE_CONTEXT } from "../../lib/spool/spool-function/index.js";
import { ROOT } from "../scripts/emulator.js";
import { bundleContributors, type Contributor } from "./bundle-contents.js";
import { median } from "./stats.js";

/** Issue 15's targets: every consumer's bundle, and every function's cold import. */
export const BUNDLE_TARGETS = {
  consumerBytes: 350 * 1024,
  importRatio: 8,
  importRatioStretch: 5,
} as const;

export interface BundleFigure {
  readonly function: string;
  /** A QueueConsumer's function (the bundle-size target applies to these). */
  readonly consumer: boolean;
  readonly bytes: number;
  readonly importMedianMs: number;
  /** The empty handler's median, measured in turns with this bundle's (see pairedImportMs). */
  readonly baselineMs: number;
  /** importMedianMs of this bundle ÷ that of an empty handler bundled the same way. */
  readonly importRatio: number;
  /** What the bundle holds, largest first (from esbuild's metafile, when the synth wrote one). */
  readonly contributors: readonly Contributor[];
}

type Template = {
  Resources: Record<
    string,
    { Type: string; Metadata?: Record<string, unknown>; Properties?: Record<string, unknown> }
  >;
};

/**
 * A template value as a plain string for a local import: joins joined, references replaced by a
 * placeholder (the module only has to load, not to reach anything).
 */
function placeholder(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const join = (value as Record<string, unknown>)["Fn::Join"] as [string, unknown[]] | undefined;
    if (join) return join[1].map(placeholder).join(join[0]);
  }
  return "bench-placeholder";
}

export interface FoundBundle {
  function: string;
  consumer: boolean;
  dir: string;
  env: Record<string, string>;
}

/** Each Lambda's bundle in cdk.out, found through the template's asset metadata. */
export function bundlesIn(cdkOut: string): FoundBundle[] {
  const found: FoundBundle[] = [];
  for (const stackFile of readdirSync(cdkOut).filter((f) => f.endsWith(".template.json"))) {
    const template = JSON.parse(readFileSync(join(cdkOut, stackFile), "utf8")) as Template;
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type !== "AWS::Lambda::Function") continue;
      const asset = resource.Metadata?.["aws:asset:path"];
      const path = String(resource.Metadata?.["aws:cdk:path"] ?? "");
      if (typeof asset !== "string") continue;
      const name = path.split("/").slice(1, -1).join("/");
      const variables = ((
        resource.Properties?.Environment as { Variables?: Record<string, unknown> }
      )?.Variables ?? {}) as Record<string, unknown>;
      const env = Object.fromEntries(
        Object.entries(variables).map(([k, v]) => [k, placeholder(v)]),
      );
      // QueueConsumer names its consumer in the function's environment.
      const consumer = CONSUMER_ENV.consumerName in variables;
      found.push({ function: name, consumer, dir: join(cdkOut, asset), env });
    }
  }
  return found;
}

/** An empty handler bundled with the options SpoolFunction uses (minified ESM, require shim). */
async function emptyHandlerBundle(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "spool-bench-"));
  writeFileSync(
    join(dir, "empty.ts"),
    "export const handler = async () => ({ batchItemFailures: [] });\n",
  );
  const outfile = join(dir, "out", "index.mjs");
  mkdirSync(join(dir, "out"));
  await build({
    entryPoints: [join(dir, "empty.ts")],
    bundle: true,
    minify: true,
    sourcemap: true,
    format: "esm",
    platform: "node",
    target: "node24",
    outfile,
    banner: {
      js: "import{createRequire as __spoolCreateRequire}from'module';const require=__spoolCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

/** Time to import the module once, in a fresh Node process. */
function importOnceMs(file: string, env: Record<string, string>): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    // The function's own configuration (references replaced by placeholders): some modules
    // read it at load time, as they do in Lambda. No source maps: only the import is timed.
    env: {
      ...Object.fromEntries(Object.entries(env).filter(([k]) => k !== "SPOOL_FAULT_INJECTION")),
      PATH: process.env.PATH,
      AWS_REGION: "us-east-1",
      POWERTOOLS_METRICS_NAMESPACE: "Bench",
      NODE_OPTIONS: "",
    },
    encoding: "utf8",
  });
  return Number(out);
}

/** Median time to import the module, over `runs` fresh Node processes. */
export function coldImportMs(file: string, runs = 20, env: Record<string, string> = {}): number {
  return median(Array.from({ length: runs }, () => importOnceMs(file, env)));
}

/**
 * Medians of `file` and of the baseline over `runs` fresh processes each, taken in turns: on a
 * shared machine the load drifts over a run, and a baseline measured minutes earlier would
 * make the ratio say more about the neighbours than about the bundle.
 */
export function pairedImportMs(
  file: string,
  baseline: string,
  runs = 20,
  env: Record<string, string> = {},
): { ms: number; baselineMs: number } {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(importOnceMs(file, env));
    theirs.push(importOnceMs(baseline, {}));
  }
  return { ms: median(ours), baselineMs: median(theirs) };
}

/** Where `synthProductionBundles` writes: beside cdk.out, gitignored. */
export const BUNDLES_OUT = join(ROOT, "cdk.out.bundles");

/**
 * Synthesizes the reference stack as it deploys to AWS (no test hooks, so no fault injector),
 * with esbuild's metafile beside each bundle, into its own directory: the bundles measured are
 * the ones a real deployment ships.
 */
export function synthProductionBundles(outdir = BUNDLES_OUT): string {
  execFileSync(
    join(ROOT, "node_modules", ".bin", "cdk"),
    ["synth", "-q", "-c", `${BUNDLE_METAFILE_CONTEXT}=true`, "-o", outdir],
    { cwd: ROOT, stdio: "ignore" },
  );
  return outdir;
}

export interface BundleMeasurement {
  readonly empty: { readonly bytes: number; readonly importMedianMs: number };
  readonly functions: readonly BundleFigure[];
}

export async function measureBundles(cdkOut = join(ROOT, "cdk.out")): Promise<BundleMeasurement> {
  const emptyFile = await emptyHandlerBundle();
  const empty = { bytes: statSync(emptyFile).size, importMedianMs: coldImportMs(emptyFile) };
  const functions = bundlesIn(cdkOut).map((b) => {
    const file = join(b.dir, "index.mjs");
    const paired = pairedImportMs(file, emptyFile, 20, b.env);
    return {
      function: b.function,
      consumer: b.consumer,
      bytes: statSync(file).size,
      importMedianMs: paired.ms,
      baselineMs: paired.baselineMs,
      importRatio: paired.ms / paired.baselineMs,
      contributors: bundleContributors(b.dir) ?? [],
    };
  });
  return { empty, functions };
}

export const kb = (bytes: number) => `${(bytes / 1024).toFixed(bytes < 10_240 ? 1 : 0)} KB`;

/**
 * The bundle figures as table rows, each beside its target and the same-run baseline (the empty
 * handler, bundled the same way, measured in the same run).
 */
export function bundleRows(m: BundleMeasurement): string[][] {
  const t = BUNDLE_TARGETS;
  const rows = [
    [
      "empty handler (baseline)",
      kb(m.empty.bytes),
      "",
      `${m.empty.importMedianMs.toFixed(1)} ms`,
      "1.0×",
      "",
    ],
  ];
  for (const f of m.functions) {
    const sizeVerdict = f.consumer ? (f.bytes <= t.consumerBytes ? "met" : "over") : "n/a";
    const ratioVerdict =
      f.importRatio <= t.importRatioStretch
        ? "stretch met"
        : f.importRatio <= t.importRatio
          ? "met"
          : "over";
    rows.push([
      f.function,
      kb(f.bytes),
      f.consumer ? `≤ ${kb(t.consumerBytes)}: ${sizeVerdict}` : "(not a consumer)",
      `${f.importMedianMs.toFixed(1)} ms`,
      `${f.importRatio.toFixed(1)}× (empty ${f.baselineMs.toFixed(1)} ms)`,
      `≤ ${t.importRatio}× (stretch ${t.importRatioStretch}×): ${ratioVerdict}`,
    ]);
  }
  return rows;
}

export const BUNDLE_HEADER = [
  "function",
  "bundle",
  "bundle target",
  "cold import",
  "× empty",
  "import target",
];

/** Markdown: each function's largest contributors, for tools/bench/results/bundles.md. */
export function contentsReport(m: BundleMeasurement, top = 12): string {
  const lines = [
    "# What each bundle holds",
    "",
    "From esbuild's metafile of each function (`npm run bench -- --only bundles`): bytes in the",
    "minified bundle per npm package or source folder, largest first.",
    "",
  ];
  for (const f of m.functions) {
    lines.push(`## ${f.function} (${kb(f.bytes)})`, "");
    for (const c of f.contributors.slice(0, top)) {
      lines.push(`- ${c.name}: ${(c.bytes / 1024).toFixed(1)} KB`);
    }
    const rest = f.contributors.slice(top).reduce((sum, c) => sum + c.bytes, 0);
    if (rest > 0) lines.push(`- everything else: ${(rest / 1024).toFixed(1)} KB`);
    lines.push("");
  }
  return lines.join("\n");
}
