import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../scripts/emulator.js";
import type { Figure } from "./run.js";
import { median } from "./stats.js";

/** Issue 15's targets for `cdk synth` of the reference stack, in seconds. */
export const SYNTH_TARGET_S = { cold: 10, noChange: 5 } as const;

/** Where the synth figures write: beside cdk.out, gitignored, emptied before each cold run. */
export const SYNTH_OUT = join(ROOT, "cdk.out.synth");

/** Seconds of one `cdk synth` of the app as `npm run bench` has always timed it. */
function synthSeconds(outdir: string): number {
  const started = performance.now();
  execFileSync(
    join(ROOT, "node_modules", ".bin", "cdk"),
    ["synth", "-q", "-c", "spool:local=true", "-o", outdir],
    { cwd: ROOT, stdio: "ignore" },
  );
  return (performance.now() - started) / 1000;
}

/**
 * `cdk synth` of the reference stack (all stacks, every function bundled by esbuild), the whole
 * CLI process: cold (a fresh cloud assembly, so nothing to reuse) and then a no-change re-synth
 * into the same folder (SpoolFunction reuses every bundle whose inputs are unchanged; see
 * lib/spool/spool-function/bundle-cache.ts). Medians of `runs` pairs, interleaved, so a busy
 * machine slows both alike. No emulator needed.
 */
export function measureSynth(runs = 3): Figure[] {
  const cold: number[] = [];
  const noChange: number[] = [];
  let sameTemplate = true;
  const template = () => readFileSync(join(SYNTH_OUT, "Spool.template.json"), "utf8");
  for (let run = 0; run < runs; run++) {
    rmSync(SYNTH_OUT, { recursive: true, force: true });
    cold.push(synthSeconds(SYNTH_OUT));
    const coldTemplate = template();
    noChange.push(synthSeconds(SYNTH_OUT));
    sameTemplate &&= template() === coldTemplate;
  }
  const range = (values: number[]) =>
    `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)} s`;
  return [
    {
      name: "cdk synth, cold (all stacks, esbuild bundling)",
      value: median(cold),
      unit: "s",
      note: `target ≤ ${SYNTH_TARGET_S.cold} s; median of ${runs} (${range(cold)}), fresh cloud assembly`,
    },
    {
      name: "cdk synth, no-change re-synth (bundles reused)",
      value: median(noChange),
      unit: "s",
      note: `target ≤ ${SYNTH_TARGET_S.noChange} s; median of ${runs} (${range(noChange)}); template ${sameTemplate ? "identical to" : "DIFFERS from"} the cold synth's`,
    },
  ];
}
