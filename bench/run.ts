/**
 * `npm run bench`: Spool's figures, measured on this machine against the local emulator.
 * Prints a table and writes bench/results/latest.json. Nothing here asserts a threshold: the
 * figures are for people (and the README), not for pass/fail.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deployLocal } from "../scripts/deploy-local.js";
import { ROOT, startEmulator, stopEmulator } from "../scripts/emulator.js";
import { localClients } from "../scripts/lib/aws.js";
import { bold, table } from "../scripts/lib/narrate.js";
import { measureOneMessageLatency } from "./latency.js";
import { measureOperations } from "./operations.js";
import { percentile } from "./stats.js";

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}

async function timed<T>(fn: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

async function main() {
  const figures: Figure[] = [];

  // A cold emulator start is only measurable when none is running.
  const before = await fetch("http://127.0.0.1:4566/_ministack/health").then(
    (r) => r.ok,
    () => false,
  );
  const start = await timed(() => startEmulator());
  if (!before)
    figures.push({ name: "emulator start → healthy", value: start.ms / 1000, unit: "s" });

  const synth = await timed(() =>
    execFileSync(
      join(ROOT, "node_modules", ".bin", "cdk"),
      ["synth", "-q", "-c", "spool:local=true"],
      {
        cwd: ROOT,
        stdio: "ignore",
      },
    ),
  );
  figures.push({
    name: "cdk synth (all stacks, esbuild bundling)",
    value: synth.ms / 1000,
    unit: "s",
  });

  const deploy = await deployLocal({ quiet: true });
  figures.push({
    name: "local deploy (cdklocal, incl. synth)",
    value: deploy.timings.deployMs / 1000,
    unit: "s",
    note: before ? "update of a deployed stack" : "fresh emulator",
  });
  figures.push({ name: "drift reconcile", value: deploy.timings.reconcileMs / 1000, unit: "s" });

  const output = (name: string) => {
    const value = deploy.outputs[name];
    if (!value) throw new Error(`missing stack output ${name}`);
    return value;
  };
  const samples = await measureOneMessageLatency(localClients(), output, 20);
  figures.push({
    name: "one message: send → effect row, p50",
    value: percentile(samples, 50),
    unit: "ms",
    note: "20 sequential messages, warm consumer",
  });
  figures.push({
    name: "one message: send → effect row, p95",
    value: percentile(samples, 95),
    unit: "ms",
  });

  figures.push(...(await measureOperations(localClients(), output)));

  const rows = figures.map((f) => [
    f.name,
    `${f.value.toFixed(f.unit === "ms" || f.unit === "msg/s" ? 0 : 1)} ${f.unit}`,
    f.note ?? "",
  ]);
  console.log(
    `\n${bold("Spool benchmarks")} (${new Date().toISOString()}, node ${process.version})\n`,
  );
  console.log(table(["figure", "value", "note"], rows));
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(
    join(ROOT, "bench", "results", "latest.json"),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, figures }, null, 2)}\n`,
  );
  if (!before && start.value.pid) await stopEmulator();
}

main().catch((error) => {
  console.error(`bench: ${(error as Error).message}`);
  process.exit(1);
});
