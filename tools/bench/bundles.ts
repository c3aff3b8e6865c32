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
import { ROOT } from "../scripts/emulator.js";
import { median } from "./stats.js";

export interface BundleFigure {
  readonly function: string;
  readonly bytes: number;
  readonly importMedianMs: number;
  /** importMedianMs of this bundle ÷ that of an empty handler bundled the same way. */
  readonly importRatio: number;
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

/** Each Lambda's bundle in cdk.out, found through the template's asset metadata. */
function bundlesIn(
  cdkOut: string,
): { function: string; file: string; env: Record<string, string> }[] {
  const found: { function: string; file: string; env: Record<string, string> }[] = [];
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
      found.push({ function: name, file: join(cdkOut, asset, "index.mjs"), env });
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

/** Median time to import the module, over `runs` fresh Node processes. */
export function coldImportMs(file: string, runs = 20, env: Record<string, string> = {}): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
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
    samples.push(Number(out));
  }
  return median(samples);
}

export async function measureBundles(cdkOut = join(ROOT, "cdk.out")): Promise<{
  empty: { bytes: number; importMedianMs: number };
  functions: BundleFigure[];
}> {
  const emptyFile = await emptyHandlerBundle();
  const empty = { bytes: statSync(emptyFile).size, importMedianMs: coldImportMs(emptyFile) };
  const functions = bundlesIn(cdkOut).map((b) => {
    const importMedianMs = coldImportMs(b.file, 20, b.env);
    return {
      function: b.function,
      bytes: statSync(b.file).size,
      importMedianMs,
      importRatio: importMedianMs / empty.importMedianMs,
    };
  });
  return { empty, functions };
}
