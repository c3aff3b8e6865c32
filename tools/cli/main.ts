import { runSpool } from "./spool.js";

// Ctrl-C (or a SIGTERM) asks the running command to stop cleanly: a replay finishes the message
// in hand, releases what it holds and records how far it got. A second one exits at once.
const controller = new AbortController();
let exitCodeOnSignal = 0;
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.on(signal, () => {
    if (controller.signal.aborted) process.exit(code);
    exitCodeOnSignal = code;
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}

const code = await runSpool(process.argv.slice(2), { signal: controller.signal });
process.exitCode = exitCodeOnSignal || code;
