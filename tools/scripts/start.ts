/**
 * `npm start`: bring up the local cloud, deploy Spool to it, and run a narrated demo of what
 * the platform does with real messages. The emulator is left running for exploration; stop it
 * with `npm run emulator:stop`.
 */

import { consumerPausedAndResumed, rateLimitHeld } from "./demo/capacity.js";
import { orderFansOut } from "./demo/events.js";
import { jobProgressAndCancel } from "./demo/jobs.js";
import {
  closingStatus,
  declinedOrderExplained,
  poisonReplayedAfterFix,
} from "./demo/operations.js";
import { largePayloadClaimChecked } from "./demo/payloads.js";
import {
  type DemoContext,
  duplicatesSuppressed,
  ordersInOrder,
  poisonDeadLettered,
  transientRetried,
} from "./demo/queues.js";
import { delayedTasks, recurringRun } from "./demo/scheduling.js";
import { sagaCompensated, sagaFulfilled } from "./demo/workflows.js";
import { deployLocal } from "./deploy-local.js";
import { startEmulator } from "./emulator.js";
import { localClients } from "./lib/aws.js";
import { bad, bold, ok, say, seconds, step, table } from "./lib/narrate.js";

async function main() {
  step("Local cloud: reuse an emulator that answers, or install and start MiniStack");
  const started = Date.now();
  const emulator = await startEmulator();
  ok(
    `${emulator.kind} at ${emulator.endpoint}${emulator.pid ? ` (PID ${emulator.pid})` : ""} ready in ${seconds(Date.now() - started)}`,
  );

  step("Deploy: cdklocal bootstrap + deploy, then the drift reconciler");
  const { outputs, timings } = await deployLocal({ quiet: true });
  ok(
    `deployed in ${seconds(timings.deployMs)} (bootstrap ${seconds(timings.bootstrapMs)}, reconcile ${seconds(timings.reconcileMs)})`,
  );

  const output = (name: string) => {
    const value = outputs[name];
    if (!value) throw new Error(`the deployed stack has no output ${name}; redeploy`);
    return value;
  };
  const ctx: DemoContext = { clients: localClients(), output, ledger: [] };
  const scenes = [
    ordersInOrder,
    duplicatesSuppressed,
    poisonDeadLettered,
    poisonReplayedAfterFix,
    transientRetried,
    rateLimitHeld,
    consumerPausedAndResumed,
    jobProgressAndCancel,
    largePayloadClaimChecked,
    delayedTasks,
    recurringRun,
    sagaFulfilled,
    sagaCompensated,
    orderFansOut,
    declinedOrderExplained,
  ];
  for (const scene of scenes) await scene(ctx);

  step("Where every message ended up");
  say(
    table(
      ["message", "outcome"],
      ctx.ledger.map((l) => [l.message, l.outcome]),
    ),
  );
  await closingStatus(ctx);
  say("");
  say(
    `The emulator is still running${emulator.pid ? ` (PID ${emulator.pid})` : ""}: try ${bold("npm test")}; stop it with ${bold("npm run emulator:stop")}.`,
  );
}

main().catch((error) => {
  bad((error as Error).message);
  process.exit(1);
});
