/**
 * Bundle reuse for SpoolFunction: a synth whose bundle inputs did not change copies the bundle the
 * previous synth left in the cloud assembly instead of running esbuild again.
 *
 * Why this design (measured on the reference stack, 15 functions, 2 cores): bundling took 8.2 of
 * the app's ~12 s (`bundle:NodejsFunction` in cdk.out/performance-counters.json), about 0.35 s of
 * each call being `npx --no-install esbuild` starting npm. CDK's own reuse (AssetStaging skips
 * bundling when `asset.<hash>` of a CUSTOM/SOURCE hash exists) needs the hash before bundling, so
 * the deployed asset key would become a hash of inputs rather than of the bundle, and the first
 * synth (which cannot know its inputs yet) would get a different key from the second: a
 * "change" to deploy with no change. Here the asset keeps the OUTPUT hash NodejsFunction gives it
 * (the hash of the bundle's bytes), so a reused bundle deploys under exactly the key a fresh one
 * would, and a template never changes for a cache's sake.
 *
 * How: a function that bundles writes esbuild's metafile to a sidecar (never into the shipped
 * asset) and this module records, under a key of everything that is not a file (entry, bundling
 * options with their defines and alias, runtime, the esbuild and aws-cdk-lib versions, the lock
 * file), the content hash of every file esbuild read plus what steers module resolution
 * without being read as code: every package.json / tsconfig.json / jsconfig.json / node_modules
 * from each input's folder up to the file system root (present or absent) with the files a
 * tsconfig.json extends, and the listing of each folder holding an input (a new `dep.ts` beside
 * `dep.js` changes what `./dep` resolves to). The next synth reuses `asset.<hash>` only if every
 * one of those is unchanged, byte for byte; any difference, a missing record or asset, or a file
 * written while esbuild ran, bundles afresh.
 * Content, not mtimes, decides: npm unpacks packages with one fixed mtime.
 *
 * The record lives in the cloud assembly (`<outdir>/.spool-bundle-cache/`) beside the assets it
 * names, so `rm -rf cdk.out` (or a fresh `-o`) is a cold synth, and nothing is written elsewhere.
 * Off switch: `-c spool:bundleCache=false`.
 */
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { AssetHashType, AssetStaging, DockerImage, Stack, Stage } from "aws-cdk-lib";
import { Code } from "aws-cdk-lib/aws-lambda";
import type { BundlingOptions, NodejsFunctionProps } from "aws-cdk-lib/aws-lambda-nodejs";
import type { Construct, IConstruct } from "constructs";

/**
 * Context key (`-c spool:bundleCache=false`) that turns bundle reuse off: every SpoolFunction is
 * bundled by esbuild at every synth, as a plain NodejsFunction is.
 */
export const BUNDLE_CACHE_CONTEXT = "spool:bundleCache";

/** Bump when the record's meaning changes: older records then never match. */
const FORMAT = 1;
const CACHE_DIR = ".spool-bundle-cache";
/** Files that steer resolution or compilation of every file below their folder. */
const PROBES = ["package.json", "tsconfig.json", "jsconfig.json", "node_modules"];
/** Longer than a kernel tick (10 ms at HZ=100), by which file times lag the wall clock. */
const CLOCK_MARGIN_MS = 20;
const LOCK_FILES = ["pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb", "package-lock.json"];

export interface BundleCacheInput {
  readonly entry: string;
  readonly depsLockFilePath?: string;
  readonly projectRoot?: string;
  readonly runtime: string;
  readonly architecture: string;
  readonly bundling: BundlingOptions;
}

/** What SpoolFunction hands NodejsFunction, and what it calls once the function exists. */
export interface BundleReuse {
  /** NodejsFunction's props with `bundling`, and the reused bundle as `code` when there is one. */
  apply<T extends NodejsFunctionProps>(props: T): T;
  /** Whether the bundle is reused (esbuild not run). */
  readonly reused: boolean;
  /** After super(): record what esbuild read, for the next synth. */
  record(fn: IConstruct): void;
}

interface CacheRecord {
  readonly format: number;
  readonly key: string;
  readonly asset: string;
  /** Absolute path → content digest ("absent", "dir" or a sha256). */
  readonly files: Record<string, string>;
  /** Absolute folder → digest of its sorted entry names. */
  readonly dirs: Record<string, string>;
}

/**
 * Decide, before NodejsFunction bundles, whether the previous bundle can be reused. Returns the
 * props unchanged (plain bundling) when the cache is off, the stack is not being bundled (`cdk
 * deploy OtherStack`), there is no cloud assembly folder, or the lock file is ambiguous (then
 * NodejsFunction reports it).
 */
export function bundleReuse(scope: Construct, input: BundleCacheInput): BundleReuse {
  const plain: BundleReuse = {
    apply: (props) => ({ ...props, bundling: input.bundling }),
    reused: false,
    record: () => {},
  };
  const setting = scope.node.tryGetContext(BUNDLE_CACHE_CONTEXT);
  if ([false, "false"].includes(setting)) return plain;
  if (!Stack.of(scope).bundlingRequired) return plain;
  const outdir = Stage.of(scope)?.assetOutdir;
  const lockFile = input.depsLockFilePath
    ? resolve(input.depsLockFilePath)
    : findLockFile(process.cwd());
  if (!outdir || !lockFile || !existsSync(lockFile)) return plain;
  const projectRoot = resolve(input.projectRoot ?? dirname(lockFile));
  const key = cacheKey({ ...input, depsLockFilePath: lockFile, projectRoot });
  const cacheDir = join(outdir, CACHE_DIR);
  const recordPath = join(cacheDir, `${key}.json`);

  const hit = validRecord(recordPath, key, outdir);
  if (hit) {
    return {
      // Hidden from enumeration: NodejsFunction reads `code` and `handler` by name, but records
      // the names of the props it was given in the template's AWS::CDK::Metadata (analytics);
      // the same names as a bundling synth keep the template byte for byte the same, so a reused
      // bundle is never a change to deploy.
      apply: (props) => {
        const handler = lambdaHandler(props.handler);
        const result = { ...props, bundling: input.bundling };
        Object.defineProperty(result, "code", { value: reusedBundle(hit), enumerable: false });
        Object.defineProperty(result, "handler", {
          value: handler,
          enumerable: props.handler !== undefined,
        });
        return result;
      },
      reused: true,
      record: () => {},
    };
  }

  // The metafile goes beside the record, not into the bundle, unless the caller asked for it in
  // the bundle (then NodejsFunction's own --metafile flag writes it there and it is read there).
  const inBundle = input.bundling.metafile === true;
  const metafile = join(cacheDir, `${key}.${process.pid}.${++builds}.meta.json`);
  const bundling: BundlingOptions = inBundle
    ? input.bundling
    : { ...input.bundling, esbuildArgs: { ...input.bundling.esbuildArgs, "--metafile": metafile } };
  mkdirSync(cacheDir, { recursive: true });
  const started = Date.now();
  return {
    apply: (props) => ({ ...props, bundling }),
    reused: false,
    record: (fn) => {
      const staging = fn.node.tryFindChild("Code")?.node.tryFindChild("Stage");
      if (!(staging instanceof AssetStaging)) return;
      const assetDir = staging.absoluteStagedPath;
      const metaPath = inBundle ? join(assetDir, "index.meta.json") : metafile;
      try {
        if (basename(assetDir) !== `asset.${staging.assetHash}`) return;
        const meta = JSON.parse(readFileSync(metaPath, "utf8")) as {
          inputs?: Record<string, unknown>;
        };
        const inputs = Object.keys(meta.inputs ?? {}).map((p) => resolve(projectRoot, p));
        const record = recordOf(key, staging.assetHash, inputs, started);
        if (record) writeAtomically(recordPath, `${JSON.stringify(record)}\n`);
      } catch {
        // No metafile, an unreadable input: no record, so the next synth bundles again.
      } finally {
        if (!inBundle) rmSync(metafile, { force: true });
      }
    },
  };
}

let builds = 0;

/** NodejsFunction's handler rule: `handler` → `index.handler`, `file.fn` as given. */
function lambdaHandler(handler = "handler"): string {
  return handler.includes(".") ? handler : `index.${handler}`;
}

/**
 * The previous bundle, copied into the asset staging by a local bundler, so the asset is
 * staged and hashed (OUTPUT: by its bytes) as NodejsFunction's own bundling stages it, with the
 * same `aws:asset:is-bundled` metadata. The image is never pulled: the local bundler always
 * succeeds.
 */
function reusedBundle(assetDir: string): Code {
  return Code.fromAsset(assetDir, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry("spool-reused-bundle"),
      local: {
        tryBundle(outputDir: string): boolean {
          cpSync(assetDir, outputDir, { recursive: true });
          return true;
        },
      },
    },
  });
}

/** Everything that decides the bundle but is not a file esbuild reads. */
function cacheKey(input: BundleCacheInput & { depsLockFilePath: string; projectRoot: string }) {
  // Resolved from the project root, not from this module: `import.meta` would keep the module
  // from being copied into a CommonJS app (spool add), and the app's root is where both live.
  const fromRoot = createRequire(join(input.projectRoot, "noop.js"));
  const esbuild = tryResolve(() => fromRoot.resolve("esbuild/package.json"));
  const parts = {
    format: FORMAT,
    entry: resolve(input.entry),
    projectRoot: input.projectRoot,
    lockFile: input.depsLockFilePath,
    lockFileDigest: digest(input.depsLockFilePath),
    // npm's record of what node_modules holds, when present.
    installed: digest(join(input.projectRoot, "node_modules", ".package-lock.json")),
    runtime: input.runtime,
    architecture: input.architecture,
    bundling: input.bundling,
    esbuild: esbuild ? [esbuild, digest(esbuild)] : "absent",
    esbuildBinary: process.env.ESBUILD_BINARY_PATH ?? "",
    cdk: tryResolve(() => (fromRoot("aws-cdk-lib/package.json") as { version: string }).version),
    platform: `${process.platform}-${process.arch}`,
  };
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
}

function tryResolve<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** The record of a build, or undefined when an input was written while esbuild ran. */
function recordOf(
  key: string,
  asset: string,
  inputs: readonly string[],
  started: number,
): CacheRecord | undefined {
  const files: Record<string, string> = {};
  const dirs: Record<string, string> = {};
  const probed = new Set<string>();
  for (const input of inputs) {
    const stat = statSync(input, { throwIfNoEntry: false });
    // Not a plain file (an esbuild namespace such as `(disabled):fs`): not known what to watch.
    if (!stat?.isFile()) return undefined;
    // Written while esbuild ran (or just before: file times come from a coarse clock, up to a
    // jiffy behind Date.now()): what esbuild read is unknown, so nothing is recorded.
    if (stat.mtimeMs >= started - CLOCK_MARGIN_MS) return undefined;
    files[input] = digest(input);
    const folder = dirname(input);
    dirs[folder] ??= listing(folder);
    // Up to the root; a folder seen before had its whole way up probed already.
    for (let dir = folder; !probed.has(dir); dir = dirname(dir)) {
      probed.add(dir);
      for (const probe of PROBES) files[join(dir, probe)] = digest(join(dir, probe));
      if (dirname(dir) === dir) break;
    }
  }
  // A tsconfig.json or jsconfig.json found above an input may extend a file elsewhere: that file
  // (and what it extends) counts too. A package's config is covered by the lock file.
  const configs = Object.keys(files).filter(
    (f) => /[tj]sconfig\.json$/.test(f) && files[f] !== "absent",
  );
  while (configs.length > 0) {
    const config = configs.pop() as string;
    for (const base of extendedConfigs(config)) {
      if (files[base] !== undefined) continue;
      files[base] = digest(base);
      if (files[base] !== "absent") configs.push(base);
    }
  }
  return { format: FORMAT, key, asset, files, dirs };
}

/** The asset folder to reuse, when the record holds and every file in it is unchanged. */
function validRecord(recordPath: string, key: string, outdir: string): string | undefined {
  let record: CacheRecord;
  try {
    record = JSON.parse(readFileSync(recordPath, "utf8")) as CacheRecord;
  } catch {
    return undefined;
  }
  if (record.format !== FORMAT || record.key !== key || !/^[0-9a-f]{64}$/.test(record.asset)) {
    return undefined;
  }
  const assetDir = join(outdir, `asset.${record.asset}`);
  if (!existsSync(join(assetDir, "index.mjs")) && !existsSync(join(assetDir, "index.js"))) {
    return undefined;
  }
  for (const [file, expected] of Object.entries(record.files)) {
    if (digest(file) !== expected) return undefined;
  }
  for (const [dir, expected] of Object.entries(record.dirs)) {
    if (listing(dir) !== expected) return undefined;
  }
  return assetDir;
}

const digests = new Map<string, { readonly stamp: string; readonly digest: string }>();

/**
 * sha256 of a file's content ("absent" or "dir" otherwise). Memoized within the process by a
 * stamp of inode, size, mtime and ctime (a rewrite changes ctime even when mtime is restored), so
 * the SDK files that every function shares are read once per synth.
 */
function digest(path: string): string {
  const stat = statSync(path, { throwIfNoEntry: false, bigint: true });
  if (!stat) return "absent";
  if (stat.isDirectory()) return "dir";
  const stamp = `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  const known = digests.get(path);
  if (known?.stamp === stamp) return known.digest;
  const value = createHash("sha256").update(readFileSync(path)).digest("hex");
  digests.set(path, { stamp, digest: value });
  return value;
}

/** The relative `extends` of a tsconfig.json (a string or, since TypeScript 5, a list). */
function extendedConfigs(config: string): string[] {
  const text = readFileSync(config, "utf8");
  const found = /"extends"\s*:\s*(\[[^\]]*\]|"[^"]*")/.exec(text)?.[1] ?? "";
  return [...found.matchAll(/"(\.[^"]*)"/g)].map(([, relative]) => {
    const path = resolve(dirname(config), relative as string);
    return path.endsWith(".json") ? path : `${path}.json`;
  });
}

/** Digest of a folder's sorted entry names. */
function listing(dir: string): string {
  try {
    return createHash("sha256").update(readdirSync(dir).sort().join("\n")).digest("hex");
  } catch {
    return "absent";
  }
}

/** NodejsFunction's lookup: the lock files of the nearest folder (from cwd) holding any. */
function findLockFile(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const found = LOCK_FILES.map((name) => join(dir, name)).filter((file) => existsSync(file));
    if (found.length > 0) return found.length === 1 ? found[0] : undefined;
    if (dirname(dir) === dir) return undefined;
  }
}

function writeAtomically(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}
