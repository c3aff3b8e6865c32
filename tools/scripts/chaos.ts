/**
 * `npm run chaos -- --messages 10000 --fifo 2000 --groups 50 --faults 20 --timeouts 5 \
 *    --ddb-errors 5 --dups 10 --poison 1`
 *
 * `npm run chaos -- --storm [seconds] --storm-faults 20 --burst [times]`: the retry-storm and
 * burst scenarios instead of the mixed run (scenarios.ts).
 *
 * Runs the total-queue check against the stack deployed on the local emulator (deploying it
 * first if needed) and prints what happened to every message. Exits non-zero if anything was
 * lost, applied twice or applied out of order.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import type { ChaosReport } from "./chaos/account.js";
import { type ChaosOptions, runChaos, SMALL_CHAOS } from "./chaos/run-chaos.js";
import { runBurst, runStorm } from "./chaos/scenarios.js";
import { deployLocal } from "./deploy-local.js";
import { localClients } from "./lib/aws.js";
import { bold, green, red, table } from "./lib/narrate.js";

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a whole number, got ${value}`);
  return n;
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new InvalidArgumentError(`expected 0–100, got ${value}`);
  return n;
}

const program = new Command("chaos")
  .description("fault-injected no-loss / no-duplicate run against the local deployment")
  // A bad argument is a usage error: exit 2 with one line, like the spool CLI (commander exits 1).
  .exitOverride()
  .configureOutput({
    outputError: (text, write) =>
      write(
        `chaos: ${text
          .trim()
          .replace(/^error: /, "")
          .replace(/\s*\n\s*/g, " ")}\n`,
      ),
  })
  .option(
    "--messages <n>",
    "notification requests on the standard queue",
    count,
    SMALL_CHAOS.messages,
  )
  .option("--fifo <n>", "order events on the FIFO queue", count, SMALL_CHAOS.fifo)
  .option("--groups <n>", "orders (message groups) for the FIFO events", count, SMALL_CHAOS.groups)
  .option("--faults <pct>", "deliveries failing transiently", percent, SMALL_CHAOS.faults)
  .option("--timeouts <pct>", "deliveries timing out", percent, SMALL_CHAOS.timeouts)
  .option("--ddb-errors <pct>", "DynamoDB calls throttled", percent, SMALL_CHAOS.ddbErrors)
  .option("--dups <pct>", "messages sent twice", percent, SMALL_CHAOS.dups)
  .option("--poison <pct>", "extra poison messages", percent, SMALL_CHAOS.poison)
  .option("--storm [seconds]", "retry storm: dependency degraded this long (default 60)", count)
  .option("--storm-faults <pct>", "deliveries failing while degraded", percent, 20)
  .option("--storm-rate <n>", "notification requests a second during the storm", count, 5)
  .option(
    "--burst [times]",
    "burst: this many times the consumer's capacity at once (default 20)",
    count,
  )
  .option("--deadline <seconds>", "how long to wait for everything to settle", count, 1800)
  .action(async (flags) => {
    if (flags.groups < 1) throw new InvalidArgumentError("--groups must be at least 1");
    if (flags.storm === 0) throw new InvalidArgumentError("--storm must be at least 1 second");
    if (flags.burst === 0) throw new InvalidArgumentError("--burst must be at least 1");
    const options: ChaosOptions = {
      messages: flags.messages,
      fifo: flags.fifo,
      groups: flags.groups,
      faults: flags.faults,
      timeouts: flags.timeouts,
      ddbErrors: flags.ddbErrors,
      dups: flags.dups,
      poison: flags.poison,
      deadlineMs: flags.deadline * 1000,
    };
    const { outputs } = await deployLocal({ quiet: true });
    const output = (name: string) => {
      const value = outputs[name];
      if (!value) throw new Error(`missing stack output ${name}`);
      return value;
    };
    const say = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
    const clients = localClients();
    let ok = true;
    if (flags.storm === undefined && flags.burst === undefined) {
      const report = await runChaos(clients, output, options, say);
      ok = printed(`Chaos run ${report.runId}`, report, []);
    }
    if (flags.storm !== undefined) {
      const seconds = flags.storm === true ? 60 : flags.storm;
      const report = await runStorm(
        clients,
        output,
        {
          seconds,
          faults: flags.stormFaults,
          messages: seconds * flags.stormRate,
          fifo: Math.ceil((seconds * flags.stormRate) / 5),
          groups: flags.groups,
          dups: flags.dups,
          deadlineMs: flags.deadline * 1000,
        },
        say,
      );
      ok =
        printed(
          `Retry storm ${report.runId}`,
          report,
          [
            ["degraded", `${report.stormSeconds} s at ${report.stormFaults} % transient failures`],
            [
              "retries during / after the storm",
              `${report.retriesDuringStorm} / ${report.retriesAfterStorm}`,
            ],
            ["drain after recovery", drainAfterRecovery(report.drainAfterRecoveryMs)],
            [
              "out of attempts in the storm (dead-lettered, legitimately)",
              `${report.exhaustedDeadLetters} (${report.exhaustedWithEffect} of them finished work)`,
            ],
          ],
          report.exhaustedWithEffect === 0,
        ) && ok;
    }
    if (flags.burst !== undefined) {
      const times = flags.burst === true ? 20 : flags.burst;
      const report = await runBurst(
        clients,
        output,
        { times, deadlineMs: flags.deadline * 1000 },
        say,
      );
      ok =
        printed(`Burst ${report.runId}`, report, [
          ["burst", `${report.times} × capacity ${report.capacity} (batch × max concurrency)`],
          ["throughput", `${report.throughput} messages/s`],
        ]) && ok;
    }
    process.exitCode = ok ? 0 : 1;
  });

function drainAfterRecovery(ms: number | undefined): string {
  if (ms === undefined) return "not drained";
  const seconds = (Math.abs(ms) / 1000).toFixed(1);
  return ms >= 0 ? `${seconds} s` : `none: drained ${seconds} s before the storm ended`;
}

/** Prints a report's table and verdict; true when it passed. */
function printed(
  title: string,
  report: ChaosReport,
  extra: [string, string | number][],
  extraOk = true,
): boolean {
  const rows: [string, string | number][] = [
    ["sent (accepted by SQS)", report.sent],
    ["business keys", report.keys],
    ["effects", report.effects],
    [
      "dead letters",
      `${report.deadLetters} (${report.bareDeadLetters} moved bare by the redrive policy)`,
    ],
    [
      "poison dead-lettered with metadata",
      `${report.poisonDeadLettered} of ${report.poisonSent} (${report.poisonLetters} letters, ${report.poisonWithoutMetadata} without metadata)`,
    ],
    ["lost", report.lost],
    ["duplicates (applied twice)", report.duplicates],
    ["order violations", report.orderViolations],
    ["duplicates refused at the effect boundary", report.refusedAtEffectBoundary],
    ["messages with both an effect and a dead letter", report.doubleOutcomes],
    ["retries (transient failures)", report.retries],
    ...extra,
    [
      "elapsed",
      `${(report.elapsedMs / 1000).toFixed(1)} s${report.drained ? "" : " (deadline hit before the queues drained)"}`,
    ],
  ];
  console.log(`\n${bold(title)}\n`);
  console.log(table(["", "value"], rows));
  const ok =
    extraOk &&
    report.drained &&
    report.lost === 0 &&
    report.duplicates === 0 &&
    report.orderViolations === 0 &&
    report.poisonWithoutMetadata === 0 &&
    report.poisonDeadLettered === report.poisonSent &&
    // Work that is done never reaches a dead-letter queue: an operator would replay it.
    report.doubleOutcomes === 0;
  for (const sample of report.doubleOutcomeSamples) {
    console.log(
      `  both an effect and a dead letter: ${sample.key} → ${sample.deadLetters.join(", ")}`,
    );
  }
  console.log(
    `\n${ok ? green("PASS: nothing lost, nothing applied twice, order kept, no finished work dead-lettered") : red("FAIL")}`,
  );
  return ok;
}

program.parseAsync().catch((error) => {
  // Thrown by the action's own checks: commander has not printed it.
  if (error instanceof InvalidArgumentError) {
    console.error(`chaos: ${error.message}`);
    process.exit(2);
  }
  if (error instanceof CommanderError) {
    // A parse error commander already printed; --help and --version end here too, with 0.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  console.error(`chaos: ${(error as Error).message}`);
  process.exit(1);
});
