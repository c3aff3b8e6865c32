import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import {
  type BuildManifest,
  buildsDir,
  inputStats,
  MANIFEST_FORMAT,
  manifestPath,
  sourcesKey,
} from "./bin/compiled.mjs";
import { PROJECT_DIR } from "./lib/project.js";

/**
 * The compiled CLI. `spool` starts in a fraction of the time when it runs plain JavaScript: no
 * tsx, no TypeScript transform, and the AWS SDK read from a few bundled chunks rather than from
 * hundreds of files. The launcher (bin/spool.mjs) builds it on its first run, and again whenever
 * a source, a dependency or this script changes (compiled.mjs keys the build by their content,
 * and checks their sizes and times first), into `.spool/cli/<key>/`. Built on first run rather than by an npm install script because npm
 * may be told to run no scripts (`--ignore-scripts`, `allowScripts`), and because in a checkout
 * the sources change after install anyway; until it can be built, spool runs the TypeScript
 * through tsx as before.
 *
 * One ESM entry (main.mjs) with code splitting: every `import()` of the CLI (the AWS clients, a
 * command's implementation) is a chunk of its own, loaded only when a command needs it, so
 * `spool --help` reads commander and the command declarations only.
 */

const SELF = fileURLToPath(import.meta.url);
const CHECK = join(dirname(SELF), "bin", "compiled.mjs");
/** A build this old that is not the current one is deleted by the next build. */
const KEEP_OLD_BUILDS_MS = 60 * 60 * 1000;

export interface CliBuild extends BuildManifest {
  /** esbuild's account of the build: which input went into which chunk, and chunk imports. */
  readonly metafile: Metafile;
}

/**
 * The files a build depends on: its bundled sources, for npm packages their package.json only
 * (a new version rewrites it; reading each of their files would cost more than the build saves),
 * this script, the freshness check and esbuild's version.
 */
function buildInputs(metafile: Metafile, workingDir: string): string[] {
  const inputs = new Set<string>([SELF, CHECK]);
  inputs.add(join(dirname(fileURLToPath(import.meta.resolve("esbuild"))), "..", "package.json"));
  for (const path of Object.keys(metafile.inputs)) {
    const file = resolve(workingDir, path);
    const at = file.lastIndexOf(`${sep}node_modules${sep}`);
    if (at === -1) {
      inputs.add(file);
      continue;
    }
    const rest = file.slice(at + "/node_modules/".length).split(sep);
    const name = rest[0]?.startsWith("@") ? rest.slice(0, 2) : rest.slice(0, 1);
    inputs.add(join(file.slice(0, at), "node_modules", ...name, "package.json"));
  }
  return [...inputs].sort();
}

/** Builds the CLI from `projectDir` and makes it the current build; resolves to its manifest. */
export async function buildCli(projectDir = PROJECT_DIR): Promise<CliBuild> {
  const builds = buildsDir(projectDir);
  mkdirSync(builds, { recursive: true });
  const startedAt = Date.now();
  const scratch = join(builds, `tmp-${randomUUID()}`);
  let result: Awaited<ReturnType<typeof build<{ metafile: true }>>>;
  try {
    result = await build({
      absWorkingDir: projectDir,
      entryPoints: { main: join(projectDir, "tools", "cli", "main.ts") },
      outdir: scratch,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      outExtension: { ".js": ".mjs" },
      chunkNames: "chunk-[hash]",
      // The SDK's ES modules, as the Lambda bundles take them: they tree-shake.
      mainFields: ["module", "main"],
      // Smaller chunks parse faster; names are kept because errors are told apart by name
      // (commander's CommanderError sets its name from its class).
      minify: true,
      keepNames: true,
      metafile: true,
      logLevel: "silent",
      // CommonJS dependencies inside ES modules still call require() for Node's own modules.
      banner: {
        js: "import{createRequire as __spoolCreateRequire}from'node:module';const require=__spoolCreateRequire(import.meta.url);",
      },
    });
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }

  const inputs = buildInputs(result.metafile, projectDir);
  const key = sourcesKey(inputs);
  if (!key) throw new Error("a source of the CLI disappeared while it was being built");
  const dir = join(builds, key.slice(0, 16));
  try {
    renameSync(scratch, dir);
  } catch {
    // Another spool built the same sources at the same time: theirs is as good as this one.
    rmSync(scratch, { recursive: true, force: true });
  }
  const stats = inputStats(inputs);
  if (!stats) throw new Error("a source of the CLI disappeared while it was being built");
  const manifest: BuildManifest = {
    format: MANIFEST_FORMAT,
    key,
    entry: join(dir, "main.mjs"),
    inputs,
    stats,
  };
  // A source edited while esbuild read it may be in the key but not in the build: then this
  // build serves this run only, and the next run builds again.
  if (stats.every(([, mtimeMs]) => mtimeMs < startedAt)) {
    const tmp = `${manifestPath(projectDir)}.${randomUUID()}`;
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(tmp, manifestPath(projectDir));
  }
  pruneOldBuilds(builds, dir);
  return { ...manifest, metafile: result.metafile };
}

/**
 * Deletes earlier builds, once they are old enough that no spool still running can want one of
 * their chunks (a command loads its chunks as it starts).
 */
function pruneOldBuilds(builds: string, current: string): void {
  const now = Date.now();
  for (const entry of readdirSync(builds, { withFileTypes: true })) {
    const path = join(builds, entry.name);
    if (!entry.isDirectory() || path === current) continue;
    try {
      if (now - statSync(path).mtimeMs > KEEP_OLD_BUILDS_MS) {
        rmSync(path, { recursive: true, force: true });
      }
    } catch {
      // Another build is pruning it too.
    }
  }
}

// `npx tsx tools/cli/build.ts`: build now, and see why if it fails (spool itself says nothing
// and falls back to tsx).
if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const built = await buildCli();
  console.log(`built ${built.entry} from ${built.inputs.length} inputs`);
}
