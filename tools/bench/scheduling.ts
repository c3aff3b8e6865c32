/**
 * `npm run bench:scheduling`: figures for delayed tasks and recurring jobs against the local
 * emulator (deployed by `npm run deploy:local` or `npm start`). Prints a table and writes
 * tools/bench/results/scheduling.json. Nothing here asserts a threshold.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import {
  scheduleTask,
  type TaskDependencies,
  type TasksConfig,
} from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import {
  backfillRuns,
  type JobDefinition,
  listRuns,
} from "../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { s3PayloadObjects } from "../../lib/spool/runtime/payload-objects-s3.js";
import { readOutputs } from "../scripts/deploy-local.js";
import { ROOT } from "../scripts/emulator.js";
import { localClients } from "../scripts/lib/aws.js";
import { bold, table } from "../scripts/lib/narrate.js";
import type { Figure } from "./run.js";
import { percentile } from "./stats.js";

const clients = localClients();
const outputs = readOutputs();
const output = (name: string) => {
  const value = outputs[name];
  if (!value) throw new Error(`missing stack output ${name}; run npm run deploy:local`);
  return value;
};
const deps: TaskDependencies = {
  db: clients.ddb,
  sqs: clients.sqs,
  scheduler: new SchedulerClient(clients.config),
  config: JSON.parse(output("DelayedTasksConfig")) as TasksConfig,
  now: () => new Date(),
  // The stack's DelayedTasks has a payload store: scheduleTask needs a way to write to it.
  payloadObjects: s3PayloadObjects(new S3Client({ ...clients.config, forcePathStyle: true })),
};

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** Schedules `n` tasks at once; returns call latencies and how late each was delivered. */
async function tasks(n: number, delay: number, via: "auto" | "scheduler") {
  const run = randomUUID().slice(0, 6);
  const calls: number[] = [];
  const scheduled = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const key = `bench-${via}-${run}-${i}`;
      const started = performance.now();
      const task = await scheduleTask(
        {
          key,
          delay,
          payload: { orderId: key, customerId: "bench" },
          target: output("CartRemindersQueueArn"),
          via,
        },
        deps,
      );
      calls.push(performance.now() - started);
      return task;
    }),
  );
  const late = await Promise.all(
    scheduled.map((task) =>
      until(
        `the delivery of ${task.key}`,
        async () => {
          const { Item } = await clients.ddb.send(
            new GetCommand({
              TableName: output("EffectsTableName"),
              Key: { pk: `reminder#${task.key}`, sk: "delivery" },
            }),
          );
          return Item
            ? (Date.parse(String(Item.deliveredAt)) - Date.parse(task.dueAt)) / 1000
            : undefined;
        },
        120_000,
      ),
    ),
  );
  return { calls, late };
}

async function backfill(runs: number) {
  const job = (JSON.parse(output("RecurringJobs")) as Record<string, JobDefinition>)[
    "nightly-reconciliation"
  ];
  if (!job) throw new Error("no nightly-reconciliation job");
  // A random stretch of 2019, far from anything the tests or the demo touch.
  const day = Date.UTC(2019, 0, 1) + Math.floor(Math.random() * 300) * 86_400_000;
  const window = {
    job,
    from: new Date(day),
    to: new Date(day + runs * 86_400_000),
    maxLatenessSeconds: 20 * 365 * 86_400,
  };
  const started = performance.now();
  const report = await backfillRuns(window, {
    db: clients.ddb,
    sqs: clients.sqs,
    now: () => new Date(),
  });
  const enqueuedMs = performance.now() - started;
  await until(
    `${report.enqueued.length} backfilled runs to succeed`,
    async () => {
      const done = await listRuns(clients.ddb, job.runsTable, job.name, window);
      return done.filter((r) => r.status === "SUCCEEDED").length >= report.enqueued.length
        ? done
        : undefined;
    },
    120_000,
  );
  const doneMs = performance.now() - started;
  const again = performance.now();
  const second = await backfillRuns(window, {
    db: clients.ddb,
    sqs: clients.sqs,
    now: () => new Date(),
  });
  return {
    enqueued: report.enqueued.length,
    enqueuedMs,
    doneMs,
    secondMs: performance.now() - again,
    secondNew: second.enqueued.length,
  };
}

async function main() {
  const figures: Figure[] = [];
  // One after another, so each figure is not slowed by the others.
  const short = await tasks(20, 2, "auto");
  const long = await tasks(5, 12, "scheduler");
  const runs = await backfill(30);
  figures.push(
    {
      name: "scheduleTask call (SQS delay route), p50",
      value: percentile(short.calls, 50),
      unit: "ms",
      note: "20 concurrent calls",
    },
    {
      name: "scheduleTask call (one-time schedule), p50",
      value: percentile(long.calls, 50),
      unit: "ms",
      note: "5 concurrent calls",
    },
    {
      name: "task delivered after due (SQS delay), p50",
      value: percentile(short.late, 50),
      unit: "s",
      note: "delay 2 s, 20 tasks",
    },
    {
      name: "task delivered after due (SQS delay), max",
      value: Math.max(...short.late),
      unit: "s",
    },
    {
      name: "task delivered after due (one-time schedule), p50",
      value: percentile(long.late, 50),
      unit: "s",
      note: "MiniStack sweeps every 10 s",
    },
    {
      name: "task delivered after due (one-time schedule), max",
      value: Math.max(...long.late),
      unit: "s",
    },
    {
      name: `backfill of ${runs.enqueued} runs: recorded + sent`,
      value: runs.enqueuedMs,
      unit: "ms",
    },
    {
      name: `backfill of ${runs.enqueued} runs: all SUCCEEDED`,
      value: runs.doneMs / 1000,
      unit: "s",
      note: "skip-if-running: runs wait for each other (deferred with jitter)",
    },
    {
      name: "second backfill of the same window",
      value: runs.secondMs,
      unit: "ms",
      note: `${runs.secondNew} new runs`,
    },
  );
  console.log(
    `\n${bold("Spool scheduling benchmarks")} (${new Date().toISOString()}, node ${process.version})\n`,
  );
  console.log(
    table(
      ["figure", "value", "note"],
      figures.map((f) => [
        f.name,
        `${f.value.toFixed(f.unit === "ms" ? 0 : 1)} ${f.unit}`,
        f.note ?? "",
      ]),
    ),
  );
  mkdirSync(join(ROOT, "tools", "bench", "results"), { recursive: true });
  writeFileSync(
    join(ROOT, "tools", "bench", "results", "scheduling.json"),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, figures }, null, 2)}\n`,
  );
}

main().catch((error) => {
  console.error(`bench:scheduling: ${(error as Error).message}`);
  process.exit(1);
});
