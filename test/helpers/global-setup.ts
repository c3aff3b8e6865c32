import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { deployLocal } from "../../tools/scripts/deploy-local.js";
import { detectEmulator, startEmulator, stopEmulator } from "../../tools/scripts/emulator.js";
import { localEndpoint } from "../../tools/scripts/lib/local-cloud.js";

let startedHere = false;

/**
 * Once per run: make sure an emulator answers (start MiniStack when none does), deploy the stack,
 * and hand the outputs and the emulator's kind to the tests.
 */
export default async function setup(project: TestProject) {
  const endpoint = localEndpoint();
  const before = await detectEmulator(endpoint);
  const info = await startEmulator(endpoint);
  startedHere = before === undefined && info.pid !== undefined;
  const { outputs, timings } = await deployLocal({ quiet: true });
  process.stderr.write(
    `[integration] ${info.kind}${info.auth ? " (AUTH=true)" : ""} at ${endpoint}; deploy ${(timings.deployMs / 1000).toFixed(1)} s\n`,
  );
  project.provide("outputs", outputs);
  project.provide("emulator", info.kind);
  project.provide("emulatorAuth", info.auth);
  return async () => {
    if (startedHere && !process.env.SPOOL_KEEP_EMULATOR) await stopEmulator();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    outputs: Record<string, string>;
    emulator: "ministack" | "localstack";
    /** MiniStack evaluates IAM (SPOOL_EMULATOR_AUTH=1). */
    emulatorAuth: boolean;
  }
}
