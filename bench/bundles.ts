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
  Resources: Record<string, { Type: string; Metadata?: Record<string, unknown> }>;
};

/** Each Lambda's bundle in cdk.out, found through the template's asset metadata. */
function bundlesIn(cdkOut: string): { function: string; file: string }[] {
  const found: { function: string; file: string }[] = [];
  for (const stackFile of readdirSync(cdkOut).filter((f) => f.endsWith(".template.json"))) {
    const template = JSON.parse(readFileSync(join(cdkOut, stackFile), "utf8")) as Template;
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type !== "AWS::Lambda::Function") continue;
      const asset = resource.Metadata?.["aws:asset:path"];
      const path = String(resource.Metadata?.["aws:cdk:path"] ?? "");
      if (typeof asset !== "string") continue;
      const name = path.split("/").slice(1, -1).join("/");
      found.push({ function: name, file: join(cdkOut, asset, "index.mjs") });
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
export function coldImportMs(file: string, runs = 20): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: "us-east-1",
        POWERTOOLS_METRICS_NAMESPACE: "Bench",
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
    const importMedianMs = coldImportMs(b.file);
    return {
      function: b.function,
      bytes: statSync(b.file).size,
      importMedianMs,
      importRatio: importMedianMs / empty.importMedianMs,
    };
  });
  return { empty, functions };
}
