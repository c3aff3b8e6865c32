import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Stack } from "@aws-sdk/client-cloudformation";
import type { LaneMetadata } from "../../../lib/spool/priority-lanes/contract.js";

/**
 * What the CLI takes from a stack's template: each resource's construct path and the lane
 * metadata PriorityLanes records. Why cache it: the template is the largest answer the CLI reads
 * (the reference stack's is over a megabyte, escaped inside CloudFormation's XML), and reading and
 * parsing it was about half of `spool status` (docs/figures.md). It changes only when the stack
 * is deployed, so it is kept per stack version and read again after any deploy.
 */
export interface TemplateFacts {
  readonly paths: ReadonlyMap<string, string>;
  readonly lanes: ReadonlyMap<string, LaneMetadata>;
}

/**
 * States in which the template no longer changes until the next operation, which sets a new
 * LastUpdatedTime. A template read mid-update (or mid-rollback) is used, never kept.
 */
const SETTLED = new Set([
  "CREATE_COMPLETE",
  "UPDATE_COMPLETE",
  "UPDATE_ROLLBACK_COMPLETE",
  "IMPORT_COMPLETE",
  "IMPORT_ROLLBACK_COMPLETE",
]);

/**
 * The stack version the facts belong to: its id (account, region and a per-creation uuid, so
 * two emulators or accounts never share an entry), its settled status and when it last changed.
 * Undefined when the stack is not settled or says too little to tell versions apart.
 */
export function stackVersionKey(stack: Stack): string | undefined {
  if (!stack.StackId || !stack.StackStatus || !SETTLED.has(stack.StackStatus)) return undefined;
  const changed = stack.LastUpdatedTime ?? stack.CreationTime;
  if (!changed) return undefined;
  return createHash("sha256")
    .update([stack.StackId, stack.StackStatus, new Date(changed).toISOString()].join("\n"))
    .digest("hex")
    .slice(0, 32);
}

interface Stored {
  readonly paths: [string, string][];
  readonly lanes: [string, LaneMetadata][];
}

function fileOf(dir: string, key: string): string {
  return join(dir, `template-${key}.json`);
}

/** The facts kept for this stack version, or undefined (none kept, or unreadable: read again). */
export async function readTemplateFacts(
  dir: string,
  key: string,
): Promise<TemplateFacts | undefined> {
  try {
    const stored = JSON.parse(await readFile(fileOf(dir, key), "utf8")) as Stored;
    if (!Array.isArray(stored.paths) || !Array.isArray(stored.lanes)) return undefined;
    return { paths: new Map(stored.paths), lanes: new Map(stored.lanes) };
  } catch {
    return undefined;
  }
}

/**
 * Keeps the facts for the next command. Written to a temporary name and renamed, so a command
 * running at the same time reads the whole file or none; a failure to write only costs the next
 * command a template read, so it is not reported.
 */
export async function keepTemplateFacts(
  dir: string,
  key: string,
  facts: TemplateFacts,
): Promise<void> {
  const stored: Stored = { paths: [...facts.paths], lanes: [...facts.lanes] };
  const file = fileOf(dir, key);
  const partial = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(partial, JSON.stringify(stored));
    await rename(partial, file);
    await prune(dir);
  } catch {
    // Nothing to do: see above.
  }
}

/** Entries kept: one per stack version, so each deploy adds one; the newest few are enough. */
const KEEP = 20;

async function prune(dir: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => /^template-[0-9a-f]+\.json$/.test(n));
  if (names.length <= KEEP) return;
  const aged = await Promise.all(
    names.map(async (n) => ({ n, at: (await stat(join(dir, n))).mtimeMs })),
  );
  aged.sort((a, b) => b.at - a.at);
  await Promise.all(aged.slice(KEEP).map(({ n }) => rm(join(dir, n), { force: true })));
}
