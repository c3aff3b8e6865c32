/**
 * `npm run bench`: Spool's figures, measured on this machine against the local emulator.
 * Prints a table and writes tools/bench/results/latest.json. Nothing here asserts a threshold: the
 * figures are for people (and the README), not for pass/fail.
 *
 * `npm run bench -- --only bundles`: only the Lambda bundle figures (no emulator needed).
 * `npm run bench -- --only replay`: only the `spool dlq replay` figures (results/replay.json).
 * `npm run bench -- --only consumer`: only the consumer's DynamoDB calls per message and its
 *   in-process throughput (results/consumer.json).
 * `npm run bench -- --only e2e`: only the end-to-end throughput at 500 and 5,000 messages beside
 *   the empty consumer and the peer (results/e2e.json).
 * `npm run bench -- --only synth`: only the `cdk synth` figures, cold and no-change (no emulator
 * needed; results/synth.json).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deployLocal } from "../scripts/deploy-local.js";
import { detectEmulator, ROOT, startEmulator, stopEmulator } from "../scripts/emulator.js";
import { localClients } from "../scripts/lib/aws.js";
import { localEndpoint } from "../scripts/lib/local-cloud.js";
import { bold, table } from "../scripts/lib/narrate.js";
import {
  BUNDLE_HEADER,
  type BundleMeasurement,
  bundleRows,
  contentsReport,
  measureBundles,
  synthProductionBundles,
} from "./bundles.js";
import { measureCliStart } from "./cli-start.js";
import { dynamoCallsPerMessage, inProcessThroughput } from "./consumer.js";
import { drainThroughput } from "./e2e.js";
import { measureCheckoutFanOut } from "./events-latency.js";
import { formatPage, writeFiguresDoc } from "./figures-doc.js";
import { measureOneMessageLatency } from "./latency.js";
import { measureOperations } from "./operations.js";
import {
  comparePeer,
  PEER_HEADER,
  PEER_TARGET,
  type PeerComparison,
  peerRows,
  synthBenchBundles,
} from "./peer.js";
import { measureReplay } from "./replay.js";
import { measureSagaLatency } from "./saga.js";
import { percentile } from "./stats.js";
import { measureSynth } from "./synth.js";

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

const RESULTS = join(ROOT, "tools", "bench", "results");

/**
 * The production bundles (as deployed to AWS, fault injector compiled out) measured and printed
 * beside their targets and the same-run empty handler; what each holds goes to
 * tools/bench/results/bundles.md.
 */
async function benchBundles(): Promise<BundleMeasurement & { readonly peer: PeerComparison }> {
  const productionOut = synthProductionBundles();
  const measured = await measureBundles(productionOut);
  console.log(
    `\n${bold("Lambda bundles")} (production synth, median of 20 fresh node processes)\n`,
  );
  console.log(table(BUNDLE_HEADER, bundleRows(measured)));
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, "bundles.md"), contentsReport(measured));
  writeFileSync(
    join(RESULTS, "bundles.json"),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, ...measured }, null, 2)}\n`,
  );
  console.log("\nWhat each bundle holds: tools/bench/results/bundles.md");
  const peer = comparePeer(productionOut, synthBenchBundles());
  console.log(
    `\n${bold("Beside the peer")} (the notifications consumer written with Powertools alone, bundled the same way)\n`,
  );
  console.log(table(PEER_HEADER, peerRows(peer)));
  writeFileSync(
    join(RESULTS, "peer.json"),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, ...peer }, null, 2)}\n`,
  );
  return { ...measured, peer };
}

/** The figures as one table (value rounded to its unit), and written to results/<file>. */
function report(title: string, figures: readonly Figure[], file: string): void {
  const rows = figures.map((f) => [
    f.name,
    `${f.value.toFixed(f.unit === "ms" || f.unit === "msg/s" ? 0 : 1)} ${f.unit}`,
    f.note ?? "",
  ]);
  console.log(`\n${bold(title)} (${new Date().toISOString()}, node ${process.version})\n`);
  console.log(table(["figure", "value", "note"], rows));
  mkdirSync(RESULTS, { recursive: true });
  const at = new Date().toISOString();
  writeFileSync(
    join(RESULTS, file),
    `${JSON.stringify({ at, node: process.version, figures }, null, 2)}\n`,
  );
  // A full run regenerates the figures table of docs/figures.md (figures-doc.ts).
  if (file === "latest.json") {
    writeFiguresDoc(rows, at, process.version);
    formatPage();
    console.log("\ndocs/figures.md: the table of the full run is regenerated");
  }
}

/**
 * The consumer's own figures, in process against the emulator's tables: DynamoDB calls per
 * message (new, duplicate, cache hit) and throughput with and without idempotency.
 */
async function consumerFigures(tables: {
  idempotency: string;
  effects: string;
}): Promise<Figure[]> {
  const figures: Figure[] = [];
  const calls = await dynamoCallsPerMessage(tables);
  figures.push({
    name: "DynamoDB calls per message: new",
    value: calls.newMessage,
    unit: "calls",
    note: `target ≤ 2 (the effect and the record's completion are one transaction); without idempotency: ${calls.withoutIdempotency}`,
  });
  figures.push({
    name: "DynamoDB calls per message: duplicate",
    value: calls.duplicate,
    unit: "calls",
    note: "target ≤ 1; cold cache (another container)",
  });
  figures.push({
    name: "DynamoDB calls per message: cache hit",
    value: calls.cacheHit,
    unit: "calls",
    note: "same container",
  });

  const withIdem = await inProcessThroughput(tables, true);
  const without = await inProcessThroughput(tables, false);
  figures.push({
    name: "in-process handler, batches of 10, with idempotency",
    value: withIdem,
    unit: "msg/s",
    note: `${(withIdem / without).toFixed(2)}× without (${without.toFixed(0)} msg/s)`,
  });

  return figures;
}

/** `--only consumer`: the consumer's figures alone (emulator started, stack deployed). */
async function benchConsumer(): Promise<void> {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  await onDeployedStack(async (output) => {
    const tables = {
      idempotency: output("IdempotencyTableName"),
      effects: output("EffectsTableName"),
    };
    report("consumer", await consumerFigures(tables), "consumer.json");
  });
}

/** A stack output by name; a missing one stops the bench, naming it. */
type Output = (name: string) => string;

function outputsOf(outputs: Readonly<Record<string, string | undefined>>): Output {
  return (name) => {
    const value = outputs[name];
    if (!value) throw new Error(`missing stack output ${name}`);
    return value;
  };
}

/**
 * What each `--only` part that needs the cloud does around its measurement: start the emulator
 * if none runs, deploy the reference stack, measure, and stop the emulator only if it started it.
 */
async function onDeployedStack(measure: (output: Output) => Promise<void>): Promise<void> {
  const before = (await detectEmulator(localEndpoint())) !== undefined;
  const started = await startEmulator();
  const { outputs } = await deployLocal({ quiet: true });
  await measure(outputsOf(outputs));
  if (!before && started.pid) await stopEmulator();
}

/**
 * End to end on the emulator: `n` notification requests sent and drained through the
 * notifications consumer, an empty consumer and the peer (the bench stack), at 500 and at 10×
 * (issue 15's scale), each in turn so one emulator load falls on all three.
 */
async function endToEndFigures(
  clients: ReturnType<typeof localClients>,
  queues: { empty: string | undefined; ours: string; peer: string | undefined },
): Promise<Figure[]> {
  const { empty, ours, peer } = queues;
  if (!empty || !peer) throw new Error("missing SpoolBench outputs EmptyQueueUrl / PeerQueueUrl");
  const figures: Figure[] = [];
  for (const n of [500, 5_000]) {
    const baseline = await drainThroughput(clients, empty, n);
    const spool = await drainThroughput(clients, ours, n);
    const peerRate = await drainThroughput(clients, peer, n);
    figures.push({
      name: `end to end, ${n} messages: notifications consumer`,
      value: spool,
      unit: "msg/s",
      note: `${(spool / baseline).toFixed(2)}× the empty consumer (${baseline.toFixed(0)} msg/s; target ≥ 0.6×); ${(spool / peerRate).toFixed(2)}× the peer (${peerRate.toFixed(0)} msg/s; target ≥ ${PEER_TARGET.throughputRatio}×)`,
    });
  }
  return figures;
}

/** `--only e2e`: the end-to-end figures alone (emulator started, both stacks deployed). */
async function benchEndToEnd(): Promise<void> {
  await onDeployedStack(async (output) => {
    const bench = await deployLocal({
      quiet: true,
      stack: "SpoolBench",
      app: { command: "npx tsx tools/bench/app.ts", output: "cdk.out.bench" },
    });
    const queues = {
      empty: bench.outputs.EmptyQueueUrl,
      ours: output("NotificationsQueueUrl"),
      peer: bench.outputs.PeerQueueUrl,
    };
    report("end to end", await endToEndFigures(localClients(), queues), "e2e.json");
  });
}

/** `--only replay`: the `spool dlq replay` figures alone (emulator started, stack deployed). */
async function benchReplay(): Promise<void> {
  await onDeployedStack(async (output) => {
    report("spool dlq replay", await measureReplay(localClients().sqs, output), "replay.json");
  });
}

async function main() {
  const only = process.argv.indexOf("--only");
  if (only >= 0) {
    const part = process.argv[only + 1];
    if (part === "bundles") await benchBundles();
    else if (part === "replay") await benchReplay();
    else if (part === "consumer") await benchConsumer();
    else if (part === "e2e") await benchEndToEnd();
    else if (part === "synth") report("cdk synth", measureSynth(), "synth.json");
    else
      throw new Error(
        `--only takes "bundles", "replay", "consumer", "e2e" or "synth", got ${String(part)}`,
      );
    return;
  }
  // The in-process runs would print an EMF line per batch; the figures are what matter here.
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  const figures: Figure[] = [];

  // A cold emulator start is only measurable when none is running.
  const before = (await detectEmulator(localEndpoint())) !== undefined;
  const start = await timed(() => startEmulator());
  if (!before)
    figures.push({ name: "emulator start → healthy", value: start.ms / 1000, unit: "s" });

  // Cold (fresh cloud assembly) and no-change re-synth, into cdk.out.synth: the deploy below
  // synthesizes into cdk.out on its own.
  figures.push(...measureSynth());

  const deploy = await deployLocal({ quiet: true });
  const benchDeploy = await deployLocal({
    quiet: true,
    stack: "SpoolBench",
    app: { command: "npx tsx tools/bench/app.ts", output: "cdk.out.bench" },
  });
  figures.push({
    name: "local deploy (cdklocal, incl. synth)",
    value: deploy.timings.deployMs / 1000,
    unit: "s",
    note: before ? "update of a deployed stack" : "fresh emulator",
  });
  figures.push({ name: "drift reconcile", value: deploy.timings.reconcileMs / 1000, unit: "s" });

  const output = outputsOf(deploy.outputs);
  const clients = localClients();
  const tables = {
    idempotency: output("IdempotencyTableName"),
    effects: output("EffectsTableName"),
  };

  const bundles = await benchBundles();
  figures.push({
    name: "empty handler bundle / cold import",
    value: bundles.empty.importMedianMs,
    unit: "ms",
    note: `${(bundles.empty.bytes / 1024).toFixed(1)} KB; median of 20 fresh node processes`,
  });
  for (const b of bundles.functions) {
    figures.push({
      name: `${b.function}: bundle / cold import`,
      value: b.importMedianMs,
      unit: "ms",
      note: `${(b.bytes / 1024).toFixed(0)} KB${b.consumer ? " (target ≤ 350 KB)" : ""}; ${b.importRatio.toFixed(1)}× the empty handler (target ≤ 8×)`,
    });
  }

  figures.push({
    name: "notifications consumer ÷ peer: bundle / cold import",
    value: bundles.peer.importRatio,
    unit: "×",
    note: `bundle ${bundles.peer.bytesRatio.toFixed(2)}×; targets ≤ ${PEER_TARGET.importRatio}× both (peer: Powertools alone)`,
  });

  figures.push(...(await consumerFigures(tables)));

  figures.push(
    ...(await endToEndFigures(clients, {
      empty: benchDeploy.outputs.EmptyQueueUrl,
      ours: output("NotificationsQueueUrl"),
      peer: benchDeploy.outputs.PeerQueueUrl,
    })),
  );

  const samples = await measureOneMessageLatency(clients, output, 20);
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

  for (const [label, amountCents] of [
    ["order saga: send → job SUCCEEDED", 4_200],
    ["declined order: send → job COMPENSATED", 250_000],
  ] as const) {
    const saga = await measureSagaLatency(localClients(), output, 10, amountCents);
    for (const p of [50, 95]) {
      figures.push({
        name: `${label}, p${p}`,
        value: percentile(saga.samples, p),
        unit: "ms",
        note: `10 sequential orders, warm functions; ended ${saga.status}`,
      });
    }
  }

  const fanOut = await measureCheckoutFanOut(localClients(), output, 20);
  const note = "20 sequential orders, warm functions";
  for (const [name, values] of [
    ["checkout call (one transaction)", fanOut.map((s) => s.checkoutMs)],
    ["checkout → effect in all three subscribers", fanOut.map((s) => s.fanOutMs)],
  ] as const) {
    figures.push({ name: `${name}, p50`, value: percentile(values, 50), unit: "ms", note });
    figures.push({ name: `${name}, p95`, value: percentile(values, 95), unit: "ms" });
  }

  figures.push(...(await measureOperations()));
  figures.push(...(await measureReplay(localClients().sqs, output)));
  figures.push(...measureCliStart());

  report("Spool benchmarks", figures, "latest.json");
  if (!before && start.value.pid) await stopEmulator();
}

main().catch((error) => {
  console.error(`bench: ${(error as Error).message}`);
  process.exit(1);
});
