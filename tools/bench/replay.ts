import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { DEAD_LETTER_ATTRIBUTE } from "../../lib/spool/runtime/dead-letter.js";
import { mapLimited } from "../cli/lib/map-limited.js";
import { readOutputs } from "../scripts/deploy-local.js";
import { localClients } from "../scripts/lib/aws.js";
import { spool } from "./operations.js";
import type { Figure } from "./run.js";

/** Issue 15's targets for `spool dlq replay`, in dead letters per second. */
export const REPLAY_TARGETS = { unfiltered: 500, filtered: 300, dryRun: 1_000 } as const;

/** How the replay ran before batches and pipelines: one letter at a time, one loop. */
const ONE_AT_A_TIME = ["--pipelines", "1", "--batch-size", "1"];

/** `count` dead letters as a Spool consumer leaves them, tagged `tag`, ten to a call. */
async function seed(sqs: SQSClient, dlq: string, count: number, tag: string) {
  const at = new Date().toISOString();
  const calls = Array.from({ length: Math.ceil(count / 10) }, (_, c) => c * 10);
  await mapLimited(calls, 8, (i) =>
    sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: dlq,
        Entries: Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
          Id: `m${j}`,
          MessageBody: JSON.stringify({ n: i + j }),
          MessageAttributes: {
            bench: { DataType: "String", StringValue: tag },
            [DEAD_LETTER_ATTRIBUTE]: {
              DataType: "String",
              StringValue: JSON.stringify({
                version: 1,
                reason: "permanent-failure",
                errorClass: "PermanentError",
                errorCode: "BENCH",
                errorMessage: "bench",
                messageId: `bench-${tag}-${i + j}`,
                attempts: 1,
                firstFailureAt: at,
                lastFailureAt: at,
                sourceQueue: "bench",
                correlationId: "bench",
                schemaVersion: null,
                consumer: "bench",
              }),
            },
          },
        })),
      }),
    ),
  );
}

interface Run {
  /** Letters per second over the whole in-process command (stack read and audit included). */
  readonly rate: number;
  readonly ms: number;
  /** Letters per second over the replay alone (its own `elapsedMs`, after the stack read). */
  readonly ownRate: number;
  readonly letters: number;
}

/** The emulator's median ReceiveMessage time on a queue this deep (nothing hidden: timeout 0). */
async function receiveMs(sqs: SQSClient, url: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) {
    const started = performance.now();
    await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[3] ?? 0;
}

/**
 * The three replays of one size on the consumer-less OpsLab queue, from an emptied DLQ: a dry run
 * and a filtered replay over `count` letters that match plus a quarter as many that do not, then
 * an unfiltered one (`--no-native`: Spool's own receive → send → delete, which is what runs
 * wherever SQS's move task cannot, and on every filtered replay) over `count` fresh ones.
 */
async function replaysOf(
  sqs: SQSClient,
  urls: { dlq: string; source: string },
  count: number,
  extra: readonly string[],
): Promise<{ dryRun: Run; filtered: Run; unfiltered: Run; receiveMs: number }> {
  const purge = async () => {
    for (const url of [urls.dlq, urls.source]) {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    }
  };
  await purge();
  const tag = `bench-${randomUUID().slice(0, 8)}`;
  await seed(sqs, urls.dlq, count, tag);
  await seed(sqs, urls.dlq, Math.ceil(count / 4), `${tag}-other`);
  const probe = await receiveMs(sqs, urls.dlq);
  const filter = ["--attribute", `bench=${tag}`, "--json", "--hold", "300", ...extra];
  const dry = await spool("dlq", "replay", "ops-lab", ...filter, "--dry-run");
  const moved = await spool("dlq", "replay", "ops-lab", ...filter);
  if (moved.json.moved !== count) throw new Error(`moved ${moved.json.moved} of ${count}`);
  await purge();
  await seed(sqs, urls.dlq, count, `${tag}-all`);
  const all = await spool(
    "dlq",
    "replay",
    "ops-lab",
    "--no-native",
    "--json",
    "--hold",
    "300",
    ...extra,
  );
  await purge();
  const run = (r: { ms: number; json: { elapsedMs: number } }, letters: number): Run => ({
    rate: letters / (r.ms / 1000),
    ms: r.ms,
    ownRate: letters / (Math.max(1, r.json.elapsedMs) / 1000),
    letters,
  });
  return {
    dryRun: run(dry, dry.json.examined),
    filtered: run(moved, moved.json.moved),
    unfiltered: run(all, all.json.moved),
    receiveMs: probe,
  };
}

/**
 * `spool dlq replay` at `small` and ten times as many dead letters: dry run, filtered and
 * unfiltered, each beside its target and the one-at-a-time replay of the same letters in the
 * same run, and a line splitting the cost into what every command pays (stack read, caller
 * identity, audit record: an empty replay's time) and what each letter adds at either size.
 */
export async function measureReplay(
  sqs: SQSClient,
  output: (name: string) => string,
  small = 200,
): Promise<Figure[]> {
  const urls = { dlq: output("OpsLabDeadLetterQueueUrl"), source: output("OpsLabQueueUrl") };
  await sqs.send(new PurgeQueueCommand({ QueueUrl: urls.dlq }));
  // Warms the in-process CLI (modules, clients) so the first figure does not pay for it.
  await spool("dlq", "replay", "ops-lab", "--attribute", "bench=none", "--json", "--dry-run");
  const emptyRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    const empty = await spool("dlq", "replay", "ops-lab", "--attribute", "bench=none", "--json");
    emptyRuns.push(empty.ms);
  }
  const fixedMs = [...emptyRuns].sort((a, b) => a - b)[1] ?? 0;
  const baseline = await replaysOf(sqs, urls, small, ONE_AT_A_TIME);
  const ours = await replaysOf(sqs, urls, small, []);
  const large = await replaysOf(sqs, urls, small * 10, []);

  const kinds = [
    ["unfiltered", () => "no filter, --no-native, no --rate"],
    ["filtered", (n: number) => `--attribute filter, ${n} of ${n + n / 4} match`],
    ["dryRun", () => "--dry-run, filtered, every letter read and released"],
  ] as const;
  const figures: Figure[] = [];
  for (const [kind, what] of kinds) {
    const now = ours[kind];
    const before = baseline[kind];
    figures.push({
      name: `spool dlq replay, ${small} dead letters: ${what(small)}`,
      value: now.rate,
      unit: "msg/s",
      note: `target ≥ ${REPLAY_TARGETS[kind]} msg/s; ${(now.rate / before.rate).toFixed(1)}× one at a time (${before.rate.toFixed(0)} msg/s, same run); the replay alone ${now.ownRate.toFixed(0)} msg/s (one at a time ${before.ownRate.toFixed(0)})`,
    });
  }
  for (const [kind, what] of kinds) {
    const big = large[kind];
    const perLetter = (r: Run) => (r.ms - fixedMs) / r.letters;
    figures.push({
      name: `spool dlq replay, ${small * 10} dead letters: ${what(small * 10)}`,
      value: big.rate,
      unit: "msg/s",
      note: `target ≥ ${REPLAY_TARGETS[kind]} msg/s; the replay alone ${big.ownRate.toFixed(0)} msg/s; per letter ${perLetter(big).toFixed(2)} ms vs ${perLetter(ours[kind]).toFixed(2)} ms at ${small}`,
    });
  }
  figures.push({
    name: "spool dlq replay: what every command pays (an empty replay)",
    value: fixedMs,
    unit: "ms",
    note: `stack read, caller identity, audit start and finish; ${((fixedMs / ours.unfiltered.ms) * 100).toFixed(0)}% of the unfiltered ${small}, ${((fixedMs / large.unfiltered.ms) * 100).toFixed(0)}% of the ${small * 10}`,
  });
  figures.push({
    name: `emulator ReceiveMessage with ${small * 1.25} vs ${small * 12.5} letters queued, median`,
    value: large.receiveMs,
    unit: "ms",
    note: `${(large.receiveMs / ours.receiveMs).toFixed(1)}× the ${ours.receiveMs.toFixed(1)} ms with ${small * 1.25}: the emulator's cost per call grows with the queue's depth, and a replay makes about 4 calls per 10 letters`,
  });
  return figures;
}

// `npx tsx tools/bench/replay.ts`: these figures alone, against the running emulator and the
// stack deployed to it (`npm run deploy:local`).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outputs = readOutputs();
  const output = (name: string) => {
    const value = outputs[name];
    if (!value) throw new Error(`missing stack output ${name}`);
    return value;
  };
  for (const f of await measureReplay(localClients().sqs, output)) {
    console.log(`${f.name}: ${f.value.toFixed(0)} ${f.unit} (${f.note})`);
  }
}
