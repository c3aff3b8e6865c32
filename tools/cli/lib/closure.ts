import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, posix, relative } from "node:path";
import { PROJECT_DIR } from "./project.js";

/**
 * A construct's closure: exactly what a team must copy for the construct to work in another CDK
 * app, and the npm packages that code imports. It is computed from the code itself (catalog.json
 * declares only the construct dependencies, which the import lint enforces), so `spool add`, the
 * construct READMEs and the copy test cannot disagree with what the code needs.
 *
 * Closure = the construct's folder + the folders of the constructs it depends on (transitively)
 * and of its companions (what its usage needs beside it, such as a worker's consumer)
 * + the files of the shared handler toolkit (lib/spool/runtime) that these import, or that a
 * user of the construct writes handlers with (catalog `toolkit`), with what those import.
 */

/** The library: lib/spool of this checkout. */
export const LIBRARY_DIR = join(PROJECT_DIR, "lib", "spool");
const TOOLKIT = "runtime";

export interface CatalogEntry {
  readonly summary: string;
  readonly dependsOn: readonly string[];
  /** Constructs its usage needs beside it that its code does not import (its worker, say). */
  readonly companions: readonly string[];
  readonly toolkit: readonly string[];
  readonly smoke: boolean;
}

export interface Catalog {
  readonly constructs: Readonly<Record<string, CatalogEntry>>;
}

export interface NpmDependency {
  readonly name: string;
  /** The version Spool is tested with (from its package.json). */
  readonly version: string;
  /** Needed to build, not at run time (types, the bundler). */
  readonly dev: boolean;
  /** Why a dev dependency is there. */
  readonly why?: string;
}

export interface Closure {
  readonly construct: string;
  /** The construct and every construct it depends on, the construct first. */
  readonly constructs: readonly string[];
  /** Files to copy, relative to the library folder (posix separators), sorted. */
  readonly files: readonly string[];
  /** Of `files`, those in the shared toolkit. */
  readonly toolkitFiles: readonly string[];
  readonly dependencies: readonly NpmDependency[];
}

export function readCatalog(libraryDir = LIBRARY_DIR): Catalog {
  return JSON.parse(readFileSync(join(libraryDir, "catalog.json"), "utf8")) as Catalog;
}

/** Specifiers of every import/export-from/dynamic import in a TypeScript source. */
export function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const pattern =
    /(?:^|[^.\w])(?:import|export)\s*(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const match of source.matchAll(pattern)) specifiers.push((match[1] ?? match[2]) as string);
  return specifiers;
}

/** "@scope/name/sub" → "@scope/name"; "name/sub" → "name"; node builtins → undefined. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/")) return undefined;
  if (specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0] as string))
    return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** Packages whose import gives only types: `aws-lambda` is the event types of @types/aws-lambda. */
const TYPES_ONLY: Readonly<Record<string, string>> = { "aws-lambda": "@types/aws-lambda" };

export function closureOf(
  construct: string,
  options: { readonly libraryDir?: string; readonly catalog?: Catalog } = {},
): Closure {
  const libraryDir = options.libraryDir ?? LIBRARY_DIR;
  const catalog = options.catalog ?? readCatalog(libraryDir);
  if (!catalog.constructs[construct]) {
    throw new Error(
      `unknown construct "${construct}"; known: ${Object.keys(catalog.constructs).join(", ")}`,
    );
  }
  const constructs: string[] = [];
  const visit = (name: string) => {
    if (constructs.includes(name)) return;
    const entry = catalog.constructs[name];
    if (!entry) throw new Error(`catalog.json: "${name}" is declared as a dependency but unknown`);
    constructs.push(name);
    for (const dependency of entry.dependsOn) visit(dependency);
  };
  visit(construct);
  for (const companion of catalog.constructs[construct]?.companions ?? []) visit(companion);

  const files = new Set<string>();
  const queue: string[] = [];
  const add = (relativePath: string) => {
    if (files.has(relativePath)) return;
    files.add(relativePath);
    if (relativePath.endsWith(".ts")) queue.push(relativePath);
  };
  for (const name of constructs) {
    for (const file of listFiles(join(libraryDir, name))) {
      add(relative(libraryDir, file).split("\\").join("/"));
    }
    for (const entry of catalog.constructs[name]?.toolkit ?? []) add(`${TOOLKIT}/${entry}`);
  }

  const packages = new Set<string>();
  // NodejsFunction bundles with a local esbuild when there is one (else it needs Docker).
  let bundles = false;
  while (queue.length) {
    const file = queue.shift() as string;
    const source = readFileSync(join(libraryDir, file), "utf8");
    for (const specifier of importSpecifiers(source)) {
      const pkg = packageOf(specifier);
      if (specifier === "aws-cdk-lib/aws-lambda-nodejs") bundles = true;
      if (pkg) {
        packages.add(pkg);
        continue;
      }
      if (!specifier.startsWith(".")) continue;
      const target = posix
        .normalize(posix.join(posix.dirname(file), specifier))
        .replace(/\.js$/, ".ts");
      if (target.startsWith("..")) {
        throw new Error(`${file} imports ${specifier}, outside the library`);
      }
      const [folder] = target.split("/");
      if (folder !== TOOLKIT && !constructs.includes(folder as string)) {
        throw new Error(
          `${file} imports ${specifier} from construct "${folder}", which ${construct} does not declare (catalog.json dependsOn)`,
        );
      }
      if (!existsSync(join(libraryDir, target))) {
        throw new Error(`${file} imports ${specifier}, which does not exist`);
      }
      add(target);
    }
  }

  return {
    construct,
    constructs,
    files: [...files].sort(),
    toolkitFiles: [...files].filter((f) => f.startsWith(`${TOOLKIT}/`)).sort(),
    dependencies: npmDependencies(packages, bundles),
  };
}

function npmDependencies(packages: Set<string>, bundles: boolean): NpmDependency[] {
  const manifest = JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const versionOf = (name: string) => {
    const version = manifest.dependencies[name] ?? manifest.devDependencies[name];
    if (!version) throw new Error(`the library imports ${name}, which Spool's package.json lacks`);
    return version;
  };
  const out: NpmDependency[] = [];
  for (const pkg of [...packages].sort()) {
    const typesPackage = TYPES_ONLY[pkg];
    if (typesPackage) {
      out.push({ name: typesPackage, version: versionOf(typesPackage), dev: true, why: "types" });
    } else {
      out.push({ name: pkg, version: versionOf(pkg), dev: false });
    }
  }
  if (bundles) {
    out.push({
      name: "esbuild",
      version: versionOf("esbuild"),
      dev: true,
      why: "bundles the functions at synth time without Docker",
    });
  }
  return out.sort((a, b) => Number(a.dev) - Number(b.dev) || a.name.localeCompare(b.name));
}
