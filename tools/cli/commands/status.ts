import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { InvalidArgumentError } from "commander";
import type { AwsClients } from "../lib/aws.js";
import { type Consumer, loadConsumers, stateMarker } from "../lib/consumers.js";
import { formatRate, formatSeconds, renderTable } from "../lib/format.js";
import type { StackInventory } from "../lib/stack.js";
import type { CliContext, SpoolCommand } from "../spool.js";

export interface QueueStatus {
  readonly queue: string;
  /** For one lane of a PriorityLanes group: the group's name, and the lane's. */
  readonly lanes?: string;
  readonly lane?: string;
  readonly queueName: string;
  readonly fifo: boolean;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** From CloudWatch's ApproximateAgeOfOldestMessage; null when it has no data. */
  readonly oldestAgeSeconds: number | null;
  /** Visible plus in-flight messages in the dead-letter queue; null without one. */
  readonly deadLetters: number | null;
  /** Messages deleted (processed) per second over the last 5 minutes; null without data. */
  readonly processedPerSecond: number | null;
  /** Visible backlog ÷ processing rate; null when the rate is unknown or nothing is processed. */
  readonly secondsToDrain: number | null;
  /** A backlog with no processing at all in the last 5 minutes. */
  readonly stalled: boolean;
  /** The consumers reading it (`spool consumers list`) and their mappings' states. */
  readonly consumers: readonly { readonly name: string; readonly state: string }[];
  /** A consumer of it is paused or being paused (`spool consumers pause`). */
  readonly paused: boolean;
}

/** The queues' consumers, or why they could not be read (status still shows the queues). */
async function consumersOrWhy(
  clients: AwsClients,
  inventory: StackInventory,
): Promise<Consumer[] | string> {
  try {
    return await loadConsumers(clients.lambda, inventory);
  } catch (error) {
    return (error as Error).message?.split("\n")[0] ?? String(error);
  }
}

const WINDOW_SECONDS = 300;

async function sqsMetrics(
  cloudwatch: CloudWatchClient,
  queueNames: readonly string[],
  now: Date,
): Promise<Map<string, number[]>> {
  const values = new Map<string, number[]>();
  if (queueNames.length === 0) return values;
  // The SDK is loaded as the command runs, not as it is declared (tools/cli/README.md).
  const { GetMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
  const metric = (id: string, name: string, queueName: string, stat: string) => ({
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: "AWS/SQS",
        MetricName: name,
        Dimensions: [{ Name: "QueueName", Value: queueName }],
      },
      Period: 60,
      Stat: stat,
    },
  });
  const queries = queueNames.flatMap((name, i) => [
    metric(`age${i}`, "ApproximateAgeOfOldestMessage", name, "Maximum"),
    metric(`deleted${i}`, "NumberOfMessagesDeleted", name, "Sum"),
  ]);
  let nextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: new Date(now.getTime() - WINDOW_SECONDS * 1000),
        EndTime: now,
        ScanBy: "TimestampDescending",
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const r of page.MetricDataResults ?? []) {
      if (r.Id) values.set(r.Id, [...(values.get(r.Id) ?? []), ...(r.Values ?? [])]);
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return values;
}

/** One row per source queue: SQS's counts now, CloudWatch's age and rate over 5 minutes. */
export async function queueStatus(
  clients: AwsClients,
  inventory: StackInventory,
  now: Date,
): Promise<QueueStatus[]> {
  return (await statusReport(clients, inventory, now)).rows;
}

export interface StatusReport {
  readonly rows: QueueStatus[];
  /** Why the consumers' states are not shown, when Lambda could not be read. */
  readonly consumersUnknown: string | undefined;
}

export async function statusReport(
  clients: AwsClients,
  inventory: StackInventory,
  now: Date,
): Promise<StatusReport> {
  const { queueCounts } = await import("../lib/dead-letters.js");
  const [counts, metrics, consumers] = await Promise.all([
    Promise.all(
      inventory.queues.map(async (q) => {
        // The inventory read the counts with the queues' other attributes moments ago; a queue
        // without them is read now, with its DLQ (one round trip, not two).
        const dead = q.deadLetterQueue;
        const [source, dlq] = await Promise.all([
          q.counts ?? queueCounts(clients.sqs, q.url),
          dead ? (dead.counts ?? queueCounts(clients.sqs, dead.url)) : undefined,
        ]);
        return { source, dlq };
      }),
    ),
    sqsMetrics(
      clients.cloudwatch,
      inventory.queues.map((q) => q.queueName),
      now,
    ),
    consumersOrWhy(clients, inventory),
  ]);
  const rows = inventory.queues.map((q, i) => {
    const { source, dlq } = counts[i] as (typeof counts)[number];
    const age = metrics.get(`age${i}`) ?? [];
    const deleted = metrics.get(`deleted${i}`) ?? [];
    const rate = deleted.length ? deleted.reduce((a, b) => a + b, 0) / (deleted.length * 60) : null;
    const stalled = source.visible > 0 && rate === 0;
    const mine = typeof consumers === "string" ? [] : consumers.filter((c) => c.queueArn === q.arn);
    return {
      queue: q.name,
      ...(q.lane ? { lanes: q.lane.group, lane: q.lane.lane } : {}),
      queueName: q.queueName,
      fifo: q.fifo,
      visible: source.visible,
      inFlight: source.inFlight,
      delayed: source.delayed,
      oldestAgeSeconds: age.length ? (age[0] as number) : null,
      deadLetters: dlq ? dlq.visible + dlq.inFlight : null,
      processedPerSecond: rate,
      secondsToDrain:
        source.visible === 0 ? 0 : rate !== null && rate > 0 ? source.visible / rate : null,
      stalled,
      consumers: mine.map((c) => ({ name: c.name, state: c.state })),
      paused: mine.some((c) => c.state === "Disabled" || c.state === "Disabling"),
    };
  });
  return {
    rows,
    consumersUnknown: typeof consumers === "string" ? consumers : undefined,
  };
}

/** "(fifo)", and "paused" (or the transition under way) when a consumer is not running. */
function queueLabel(r: QueueStatus): string {
  const markers = [
    ...(r.fifo ? ["fifo"] : []),
    ...new Set(r.consumers.map((c) => stateMarker(c.state)).filter((m) => m !== undefined)),
  ];
  // A PriorityLanes lane shows as its group and lane ("exports [high]"): the group is the unit.
  const name = r.lanes !== undefined ? `${r.lanes} [${r.lane}]` : r.queue;
  return `${name}${markers.length ? ` (${markers.join(", ")})` : ""}`;
}

export function renderStatus(
  stack: string,
  rows: readonly QueueStatus[],
  now: Date,
  consumersUnknown?: string,
): string {
  const table = renderTable(
    ["queue", "visible", "in flight", "delayed", "oldest", "DLQ", "processed", "drain"],
    rows.map((r) => [
      queueLabel(r),
      r.visible,
      r.inFlight,
      r.delayed,
      formatSeconds(r.oldestAgeSeconds),
      r.deadLetters ?? "-",
      formatRate(r.processedPerSecond),
      r.stalled ? "stalled" : formatSeconds(r.secondsToDrain),
    ]),
  );
  const notes: string[] = [];
  if (rows.some((r) => r.oldestAgeSeconds === null || r.processedPerSecond === null)) {
    notes.push(
      "n/a: CloudWatch has no SQS metrics for that queue in the last 5 minutes (an emulator publishes none; on AWS a queue idle for hours has none).",
    );
  }
  if (rows.some((r) => r.stalled)) {
    notes.push("stalled: messages are waiting and none were processed in the last 5 minutes.");
  }
  if (rows.some((r) => r.paused)) {
    notes.push(
      "paused: its consumer's event source mapping is disabled (spool consumers pause); messages wait and age. spool consumers resume <queue> starts it again.",
    );
  }
  if (consumersUnknown) {
    notes.push(`consumers' states unknown (paused ones are not marked): ${consumersUnknown}`);
  }
  return [
    `Stack ${stack} at ${now.toISOString()}`,
    "",
    table,
    ...(notes.length ? ["", ...notes] : []),
  ].join("\n");
}

function parseWatch(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 3_600) {
    throw new InvalidArgumentError(`refresh interval must be 1–3600 seconds, got "${value}"`);
  }
  return n;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

async function status(context: CliContext, watch: number | undefined): Promise<void> {
  const { io, signal } = context;
  const json = context.globals().json;
  const inventory = await context.inventory();
  do {
    const now = new Date();
    const { rows, consumersUnknown } = await statusReport(context.clients(), inventory, now);
    if (watch !== undefined && json) {
      // One JSON document per line, so `--watch --json` can be piped into jq or a log.
      io.stdout.write(`${JSON.stringify({ at: now.toISOString(), queues: rows })}\n`);
    } else {
      if (watch !== undefined && io.stdout.isTTY) io.stdout.write("\x1b[2J\x1b[H");
      context.emit({
        text: renderStatus(inventory.stackName, rows, now, consumersUnknown),
        json: rows,
      });
    }
    if (watch === undefined) return;
    await pause(watch * 1000, signal);
  } while (!signal.aborted);
}

export const statusCommand: SpoolCommand = {
  register(program, context) {
    program
      .command("status")
      .description(
        "per queue: visible, in flight, delayed, age of oldest, dead letters, processing rate, time to drain",
      )
      .option(
        "-w, --watch [seconds]",
        "refresh every N seconds (default 5) until Ctrl-C",
        parseWatch,
      )
      .action(async (options: { watch?: number | true }) => {
        await status(context, options.watch === true ? 5 : options.watch);
      });
  },
};
