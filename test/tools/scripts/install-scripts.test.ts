import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const LIFECYCLE = ["preinstall", "install", "postinstall"] as const;

interface Manifest {
  readonly name: string;
  readonly scripts?: Record<string, string>;
  readonly allowScripts?: Record<string, boolean>;
}

const read = (file: string): Manifest => JSON.parse(readFileSync(file, "utf8"));

/** Every installed package (scoped or not, nested node_modules too) with an install script. */
function packagesWithInstallScripts(dir: string, found = new Set<string>()): Set<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith("@")) {
      packagesWithInstallScripts(path, found);
      continue;
    }
    try {
      const manifest = read(join(path, "package.json"));
      if (LIFECYCLE.some((s) => manifest.scripts?.[s])) found.add(manifest.name);
    } catch {
      continue; // not a package folder
    }
    try {
      packagesWithInstallScripts(join(path, "node_modules"), found);
    } catch {
      // no nested node_modules
    }
  }
  return found;
}

describe("package.json allowScripts", () => {
  // npm runs a dependency's install scripts only when allowScripts approves them: Node 24 for the
  // handlers (node), the bundler (esbuild) and the import lint's parser (@swc/core) need theirs.
  it("approves every install script the installed packages have, and nothing else", () => {
    const allowed = read(join(ROOT, "package.json")).allowScripts ?? {};
    const approved = Object.keys(allowed).filter((name) => allowed[name] === true);
    const needed = [...packagesWithInstallScripts(join(ROOT, "node_modules"))];
    expect(needed.sort()).toEqual(approved.sort());
  });
});
