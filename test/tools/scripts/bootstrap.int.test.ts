import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployLocal } from "../../../tools/scripts/deploy-local.js";
import { startEmulator, stopEmulator } from "../../../tools/scripts/emulator.js";

// A private MiniStack: resetting the shared one would wipe the deployment the other tests use.
const ENDPOINT = "http://127.0.0.1:4590";
const probe = {
  stack: "SpoolBootstrapProbe",
  quiet: true,
  app: { command: "npx tsx test/helpers/fixtures/probe-app.ts", output: "cdk.out.probe" },
} as const;

let saved: string | undefined;

describe("local deploy after the emulator lost its state", () => {
  beforeAll(async () => {
    saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = ENDPOINT;
    await startEmulator(ENDPOINT);
  });

  afterAll(async () => {
    await stopEmulator(ENDPOINT);
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = saved;
  });

  it("bootstraps again when the emulator was reset between two deploys", async () => {
    const first = await deployLocal(probe);
    expect(first.timings.bootstrapped).toBe("no CDKToolkit stack");
    expect(first.outputs.ProbeQueueName).toBeTruthy();

    // Same emulator, state intact: the bootstrap stack is found and not redeployed.
    const again = await deployLocal(probe);
    expect(again.timings.bootstrapped).toBeUndefined();

    // What a restarted LocalStack or a reset MiniStack looks like: the same process, no state.
    const reset = await fetch(`${ENDPOINT}/_ministack/reset`, { method: "POST" });
    expect(reset.ok).toBe(true);
    const afterReset = await deployLocal(probe);
    expect(afterReset.timings.bootstrapped).toBe("no CDKToolkit stack");
    expect(afterReset.outputs.ProbeQueueName).toBeTruthy();
  });
});
