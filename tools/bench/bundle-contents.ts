import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One contributor to a bundle: an npm package, or a folder of this repository. */
export interface Contributor {
  readonly name: string;
  readonly bytes: number;
}

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

/**
 * What an input path counts towards: its npm package (`@smithy/core`, `zod`) when it comes from
 * node_modules, else its folder (`lib/spool/runtime`), so a summary names what can be removed.
 */
export function contributorOf(input: string): string {
  const nodeModules = input.lastIndexOf("node_modules/");
  if (nodeModules >= 0) {
    const parts = input.slice(nodeModules + "node_modules/".length).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
  }
  const parts = input.split("/");
  return parts.length > 1 ? parts.slice(0, -1).join("/") : input;
}

/** Bytes in the bundle per contributor, largest first, from esbuild's metafile. */
export function contributors(metafile: Metafile, output = "index.mjs"): Contributor[] {
  const entry = Object.entries(metafile.outputs).find(([path]) => path.endsWith(output));
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(entry?.[1].inputs ?? {})) {
    const name = contributorOf(input);
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** The contributors of the bundle in `assetDir`, or undefined when it has no metafile. */
export function bundleContributors(assetDir: string): Contributor[] | undefined {
  const file = join(assetDir, "index.meta.json");
  if (!existsSync(file)) return undefined;
  return contributors(JSON.parse(readFileSync(file, "utf8")) as Metafile);
}
