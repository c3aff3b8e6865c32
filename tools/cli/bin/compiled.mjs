// Is the compiled CLI up to date? The launcher asks this at every start, before anything else is
// loaded, so it is plain JavaScript (no tsx yet) and reads only the manifest and the sources.
// tools/cli/build.ts writes the build and its manifest; both use the key below.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Bumped when the manifest or the build's layout changes: older builds are then ignored. */
export const MANIFEST_FORMAT = 2;

/** Where builds go: `.spool/` is this checkout's own state (gitignored), like the emulator's. */
export function buildsDir(projectDir) {
  return join(projectDir, ".spool", "cli");
}

export function manifestPath(projectDir) {
  return join(buildsDir(projectDir), "current.json");
}

/**
 * A hash of the build's inputs, content and path: the sources it bundled and, for each npm
 * package, its package.json (which names the version). Undefined when one is gone (the build is
 * then stale).
 */
export function sourcesKey(inputs) {
  const hash = createHash("sha256");
  for (const input of inputs) {
    let content;
    try {
      content = readFileSync(input);
    } catch {
      return undefined;
    }
    hash.update(input).update("\0").update(content).update("\0");
  }
  return hash.digest("hex");
}

/** Each input's size and modification time, as `[size, mtimeMs]`; undefined when one is gone. */
export function inputStats(inputs) {
  try {
    return inputs.map((input) => {
      const { size, mtimeMs } = statSync(input);
      return [size, mtimeMs];
    });
  } catch {
    return undefined;
  }
}

/**
 * The entry module of the compiled CLI when a build of the current sources exists, else
 * undefined (none yet, or a source, a dependency or the build script changed since). When every
 * input has the size and time it had at the build, that is taken as unchanged (a stat each, about
 * a millisecond in all); otherwise their content is hashed and compared with the key, so a
 * checkout that rewrote files without changing them keeps the build.
 */
export function currentBuild(projectDir) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(projectDir), "utf8"));
  } catch {
    return undefined;
  }
  if (manifest?.format !== MANIFEST_FORMAT || !Array.isArray(manifest.inputs)) return undefined;
  const stats = inputStats(manifest.inputs);
  const unchanged =
    stats !== undefined &&
    (JSON.stringify(stats) === JSON.stringify(manifest.stats) ||
      sourcesKey(manifest.inputs) === manifest.key);
  return unchanged && existsSync(manifest.entry) ? manifest.entry : undefined;
}
