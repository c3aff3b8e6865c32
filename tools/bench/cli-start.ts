import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "../scripts/emulator.js";
import { localEndpoint } from "../scripts/lib/local-cloud.js";
import type { Figure } from "./run.js";
import { median } from "./stats.js";

/** Issue 15's targets for a whole `spool` process, start to exit. */
const TARGET_MS = { help: 250, status: 500 } as const;

/** Milliseconds from spawning `node <args>` to its exit. */
function wallMs(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  execFileSync(process.execPath, args, { env, stdio: "ignore" });
  return performance.now() - started;
}

/**
 * `spool --help` and `spool status` as an operator runs them: whole processes, the median of
 * `runs` fresh ones each, beside `node -e 0` (the floor any Node CLI starts from) measured in
 * the same run. The three are interleaved, so a busy machine slows them alike.
 */
export function measureCliStart(endpoint = localEndpoint(), runs = 15): Figure[] {
  const launcher = join(ROOT, "tools", "cli", "bin", "spool.mjs");
  const env = { ...process.env, NODE_OPTIONS: "", AWS_ENDPOINT_URL: endpoint };
  // Builds the compiled CLI if its sources changed since the last build (once; not timed), and
  // fails here, with its message, if the stack is not there.
  execFileSync(process.execPath, [launcher, "status"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const samples = { node: [] as number[], help: [] as number[], status: [] as number[] };
  for (let i = 0; i < runs; i++) {
    samples.node.push(wallMs(["-e", "0"], env));
    samples.help.push(wallMs([launcher, "--help"], env));
    samples.status.push(wallMs([launcher, "status"], env));
  }
  const baseline = median(samples.node);
  const beside = (ms: number, target: number) =>
    `target ≤ ${target} ms; ${(ms / baseline).toFixed(1)}× node -e 0 (${baseline.toFixed(0)} ms, same run); median of ${runs} processes`;
  const help = median(samples.help);
  const status = median(samples.status);
  return [
    {
      name: "spool --help, whole process",
      value: help,
      unit: "ms",
      note: beside(help, TARGET_MS.help),
    },
    {
      name: "spool status against the emulator, whole process",
      value: status,
      unit: "ms",
      note: beside(status, TARGET_MS.status),
    },
  ];
}

// `npx tsx tools/bench/cli-start.ts`: these figures alone, against the running emulator.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of measureCliStart())
    console.log(`${f.name}: ${f.value.toFixed(0)} ${f.unit} (${f.note})`);
}
