/**
 * Spool's notifications consumer beside the consumer a user would write instead (issue 15's
 * peer: Powertools BatchProcessor + makeIdempotent + Logger, tools/bench/lambdas/peer-consumer.ts),
 * both bundled by SpoolFunction: bundle size and cold import here, throughput in run.ts.
 */
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE_METAFILE_CONTEXT } from "../../lib/spool/spool-function/index.js";
import { ROOT } from "../scripts/emulator.js";
import { bundlesIn, type FoundBundle, kb, pairedImportMs } from "./bundles.js";

/** Spool's consumer, with all it adds, within this factor of the peer (issue 15). */
export const PEER_TARGET = { bytesRatio: 1.1, importRatio: 1.1, throughputRatio: 1 } as const;

/** The Spool consumer compared: the same schema and effect as the peer. */
const SPOOL_CONSUMER = "Messaging/NotificationsConsumer/Function";
const PEER = "PeerConsumer";

/** Synthesizes the bench app (tools/bench/app.ts) into its own directory, with metafiles. */
export function synthBenchBundles(outdir = join(ROOT, "cdk.out.bench-bundles")): string {
  execFileSync(
    join(ROOT, "node_modules", ".bin", "cdk"),
    [
      "synth",
      "-q",
      "--app",
      "npx tsx tools/bench/app.ts",
      "-c",
      `${BUNDLE_METAFILE_CONTEXT}=true`,
      "-o",
      outdir,
    ],
    { cwd: ROOT, stdio: "ignore" },
  );
  return outdir;
}

export interface PeerComparison {
  readonly spool: { readonly function: string; readonly bytes: number; readonly importMs: number };
  readonly peer: { readonly bytes: number; readonly importMs: number };
  readonly bytesRatio: number;
  /** Medians taken in turns (pairedImportMs), so the ratio is of the same minutes. */
  readonly importRatio: number;
}

function find(bundles: FoundBundle[], name: string, where: string): FoundBundle {
  const found = bundles.find((b) => b.function === name);
  if (!found) throw new Error(`no ${name} bundle in ${where}`);
  return found;
}

export function comparePeer(productionOut: string, benchOut: string): PeerComparison {
  const spool = find(bundlesIn(productionOut), SPOOL_CONSUMER, productionOut);
  const peer = find(bundlesIn(benchOut), PEER, benchOut);
  const spoolFile = join(spool.dir, "index.mjs");
  const peerFile = join(peer.dir, "index.mjs");
  const paired = pairedImportMs(spoolFile, peerFile, 20, spool.env);
  const spoolBytes = statSync(spoolFile).size;
  const peerBytes = statSync(peerFile).size;
  return {
    spool: { function: SPOOL_CONSUMER, bytes: spoolBytes, importMs: paired.ms },
    peer: { bytes: peerBytes, importMs: paired.baselineMs },
    bytesRatio: spoolBytes / peerBytes,
    importRatio: paired.ms / paired.baselineMs,
  };
}

const verdict = (ratio: number, target: number) => (ratio <= target ? "met" : "over");

/** Rows for the bench's table: each figure, the peer's, the ratio and its target. */
export function peerRows(c: PeerComparison): string[][] {
  return [
    [
      "bundle",
      kb(c.spool.bytes),
      kb(c.peer.bytes),
      `${c.bytesRatio.toFixed(2)}×`,
      `≤ ${PEER_TARGET.bytesRatio}×: ${verdict(c.bytesRatio, PEER_TARGET.bytesRatio)}`,
    ],
    [
      "cold import (median of 20, in turns)",
      `${c.spool.importMs.toFixed(1)} ms`,
      `${c.peer.importMs.toFixed(1)} ms`,
      `${c.importRatio.toFixed(2)}×`,
      `≤ ${PEER_TARGET.importRatio}×: ${verdict(c.importRatio, PEER_TARGET.importRatio)}`,
    ],
  ];
}

export const PEER_HEADER = ["figure", "Spool (notifications)", "peer", "Spool ÷ peer", "target"];
