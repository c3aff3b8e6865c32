import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Closure, LIBRARY_DIR, type NpmDependency } from "./closure.js";

/**
 * Copying a construct's closure into another CDK app (`spool add`): plan first (what is new, what
 * would change, what the user changed), then write, so a refusal copies nothing.
 *
 * The copy keeps the library's shape (`<dir>/<construct>/…`, `<dir>/runtime/…`), so every
 * relative import resolves unchanged; every one is checked anyway. The one rewrite is for
 * CommonJS apps (what `cdk init app --language typescript` makes): `import.meta` is ESM-only, so a
 * construct's lookup of its own Lambda code, `fileURLToPath(new URL(p, import.meta.url))`,
 * becomes `join(__dirname, p)`.
 */

export type ModuleSystem = "esm" | "commonjs";

/** Where `spool add` records what it wrote, to tell the user's own changes from Spool's updates. */
export const MANIFEST = ".spool-add.json";

interface Manifest {
  /** Path (relative to the copy's folder) → SHA-256 of the content `spool add` wrote there. */
  readonly files: Record<string, string>;
}

export type FileAction = "new" | "unchanged" | "update" | "conflict";

export interface PlannedFile {
  /** Relative to the copy's folder. */
  readonly path: string;
  readonly action: FileAction;
  readonly content: string;
}

export interface CopyPlan {
  readonly targetDir: string;
  readonly moduleSystem: ModuleSystem;
  readonly files: readonly PlannedFile[];
  /** Dependencies the app's package.json does not list yet. */
  readonly missing: readonly NpmDependency[];
  readonly present: readonly NpmDependency[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** "module" in the app's package.json makes it ESM; anything else is CommonJS, as Node reads it. */
export function moduleSystemOf(appDir: string): ModuleSystem {
  const manifest = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8")) as {
    type?: string;
  };
  return manifest.type === "module" ? "esm" : "commonjs";
}

/** The source with string, template and comment contents blanked (to look for code only). */
function codeOnly(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/(["'`])(?:\\.|(?!\1)[^\\])*\1/g, '""');
}

/** Rewrites a library module for a CommonJS app; throws if ESM-only code would remain. */
export function toCommonJs(source: string, path: string): string {
  const lookup =
    /fileURLToPath\(\s*new URL\(\s*(["'][^"']+["'])\s*,\s*import\.meta\.url\s*\)\s*,?\s*\)/g;
  let out = source.replace(lookup, "join(__dirname, $1)");
  if (out !== source) {
    if (!/\bfileURLToPath\b/.test(out.replace(/import\s*\{[^}]*\}\s*from\s*"node:url";\n/, ""))) {
      out = out.replace(/import\s*\{\s*fileURLToPath\s*\}\s*from\s*"node:url";\n/, "");
    }
    const pathImport = /import\s*\{([^}]*)\}\s*from\s*"node:path";/;
    const existing = pathImport.exec(out);
    if (!existing) out = `import { join } from "node:path";\n${out}`;
    else if (!/\bjoin\b/.test(existing[1] as string)) {
      out = out.replace(
        pathImport,
        (_all, names: string) => `import {${names.trimEnd()}, join } from "node:path";`,
      );
    }
  }
  if (/\bimport\.meta\b/.test(codeOnly(out))) {
    throw new Error(`${path} uses import.meta in a way spool add cannot rewrite for CommonJS`);
  }
  return out;
}

function readManifest(targetDir: string): Manifest {
  const path = join(targetDir, MANIFEST);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Manifest) : { files: {} };
}

/** Every relative import of every copied file must resolve inside the copy. */
function checkImports(files: ReadonlyMap<string, string>): void {
  const pattern = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const [path, content] of files) {
    if (!path.endsWith(".ts")) continue;
    for (const match of content.matchAll(pattern)) {
      const target = join(dirname(path), match[1] as string).replace(/\.js$/, ".ts");
      if (!files.has(target.split("\\").join("/"))) {
        throw new Error(`${path} imports ${match[1]}, which the copy would not contain`);
      }
    }
  }
}

export function planCopy(
  closures: readonly Closure[],
  appDir: string,
  dir: string,
  libraryDir = LIBRARY_DIR,
): CopyPlan {
  const targetDir = join(appDir, dir);
  const moduleSystem = moduleSystemOf(appDir);
  const contents = new Map<string, string>();
  for (const closure of closures) {
    for (const path of closure.files) {
      if (contents.has(path)) continue;
      const source = readFileSync(join(libraryDir, path), "utf8");
      contents.set(
        path,
        moduleSystem === "commonjs" && path.endsWith(".ts") ? toCommonJs(source, path) : source,
      );
    }
  }
  checkImports(contents);

  const manifest = readManifest(targetDir);
  const files: PlannedFile[] = [...contents].map(([path, content]) => {
    const destination = join(targetDir, path);
    if (!existsSync(destination)) return { path, action: "new", content };
    const current = readFileSync(destination, "utf8");
    if (current === content) return { path, action: "unchanged", content };
    // Spool's own earlier copy, untouched since: safe to bring up to date.
    if (manifest.files[path] === sha256(current)) return { path, action: "update", content };
    return { path, action: "conflict", content };
  });

  const app = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const listed = new Set([
    ...Object.keys(app.dependencies ?? {}),
    ...Object.keys(app.devDependencies ?? {}),
  ]);
  const dependencies = new Map<string, NpmDependency>();
  for (const closure of closures) {
    for (const d of closure.dependencies) {
      const known = dependencies.get(d.name);
      // A package some construct needs at run time is a runtime dependency for the app.
      if (!known || (known.dev && !d.dev)) dependencies.set(d.name, d);
    }
  }
  const all = [...dependencies.values()];
  return {
    targetDir,
    moduleSystem,
    files,
    missing: all.filter((d) => !listed.has(d.name)),
    present: all.filter((d) => listed.has(d.name)),
  };
}

/** Writes the plan's new and updated files and records them; refuses (writes nothing) on a conflict. */
export function applyCopy(plan: CopyPlan): void {
  const conflicts = plan.files.filter((f) => f.action === "conflict");
  if (conflicts.length) throw new Error("the copy has conflicts; nothing was written");
  const manifest = readManifest(plan.targetDir);
  for (const file of plan.files) {
    if (file.action === "new" || file.action === "update") {
      const destination = join(plan.targetDir, file.path);
      mkdirSync(dirname(destination), { recursive: true });
      writeFileSync(destination, file.content);
    }
    manifest.files[file.path] = sha256(file.content);
  }
  const sorted = Object.fromEntries(
    Object.entries(manifest.files).sort(([a], [b]) => a.localeCompare(b)),
  );
  writeFileSync(join(plan.targetDir, MANIFEST), `${JSON.stringify({ files: sorted }, null, 2)}\n`);
}

/** `npm install …` lines for what the app lacks. */
export function installCommands(missing: readonly NpmDependency[]): string[] {
  const runtime = missing.filter((d) => !d.dev).map((d) => `${d.name}@${d.version}`);
  const dev = missing.filter((d) => d.dev).map((d) => `${d.name}@${d.version}`);
  const lines: string[] = [];
  if (runtime.length) lines.push(`npm install --save-exact ${runtime.join(" ")}`);
  if (dev.length) lines.push(`npm install --save-dev --save-exact ${dev.join(" ")}`);
  return lines;
}
