import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployLocal } from "../../../tools/scripts/deploy-local.js";
import { startEmulator, stopEmulator } from "../../../tools/scripts/emulator.js";
import { bootstrapNeeded, cliBootstrapVersion } from "../../../tools/scripts/lib/bootstrap.js";
import { localClientConfig } from "../../../tools/scripts/lib/local-cloud.js";

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

  // Two deploys of a one-queue app, each with a bootstrap: minutes on a loaded 2-core machine.
  it("bootstraps again when the emulator was reset between two deploys", {
    timeout: 480_000,
  }, async () => {
    const first = await deployLocal(probe);
    expect(first.timings.bootstrapped).toBe("no CDKToolkit stack");
    expect(first.outputs.ProbeQueueName).toBeTruthy();
    // Same emulator, state intact: a deploy now would not bootstrap again.
    const cfn = new CloudFormationClient(localClientConfig());
    expect(await bootstrapNeeded(cfn, cliBootstrapVersion())).toBeUndefined();

    // What a restarted LocalStack or a reset MiniStack looks like: the same process, no state.
    const reset = await fetch(`${ENDPOINT}/_ministack/reset`, { method: "POST" });
    expect(reset.ok).toBe(true);
    expect(await bootstrapNeeded(cfn, cliBootstrapVersion())).toBe("no CDKToolkit stack");
    cfn.destroy();
    const afterReset = await deployLocal(probe);
    expect(afterReset.timings.bootstrapped).toBe("no CDKToolkit stack");
    expect(afterReset.outputs.ProbeQueueName).toBeTruthy();
  });
});
