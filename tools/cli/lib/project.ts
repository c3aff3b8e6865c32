import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The Spool checkout (or installed package) this CLI runs from: the nearest folder above this
 * module whose package.json is Spool's. Found by walking up rather than by a fixed "../../.."
 * because the same code also runs compiled, from chunks in `.spool/cli/<build>/` (see
 * tools/cli/build.ts), which sit at another depth.
 */
export function findProjectDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && isSpool(manifest)) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`cannot find Spool's package.json in any folder above ${from}`);
    }
  }
}

function isSpool(manifest: string): boolean {
  try {
    return (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === "spool";
  } catch {
    return false;
  }
}

export const PROJECT_DIR = findProjectDir(dirname(fileURLToPath(import.meta.url)));
