/**
 * Two load shapes for the total-queue check, accounted for like the mixed run (account.ts):
 *
 * - the retry storm: a dependency degraded for a window (a share of deliveries fail with a
 *   transient error until the window ends, via time-boxed fault rates), while messages keep
 *   arriving; it then recovers and the backlog of retries drains;
 * - the burst: many times the notifications consumer's capacity (batch size × maximum
 *   concurrency, read from its event source mapping) sent at once, with no faults.
 */
import { randomUUID } from "node:crypto";
import { ListEventSourceMappingsCommand } from "@aws-sdk/client-lambda";
import { NO_FAULTS } from "../../../lib/spool/runtime/faults.js";
import type { LocalClients } from "../lib/aws.js";
import { type ChaosReport, type Output, type Planned, settleAndAccount } from "./account.js";
import { type ChaosOptions, planNotifications, planOrderEvents, sendAll } from "./run-chaos.js";

export interface StormOptions {
  /** How long the dependency stays degraded. */
  readonly seconds: number;
  /** Share of deliveries (0–100) failing transiently while it is degraded. */
  readonly faults: number;
  /** Notification requests sent, spread evenly over the window. */
  readonly messages: number;
  /** Order events sent on the FIFO queue, spread likewise. */
  readonly fifo: number;
  readonly groups: number;
  /** Share of messages sent twice. */
  readonly dups: number;
  readonly deadlineMs: number;
}

export interface StormReport extends ChaosReport {
  readonly stormSeconds: number;
  readonly stormFaults: number;
  /** Transient failures logged before the window ended, and after (deliveries already running). */
  readonly retriesDuringStorm: number;
  readonly retriesAfterStorm: number;
  /**
   * From the end of the window until the source queues were empty; negative when they emptied
   * before it ended (the consumers kept up with the storm's retries).
   */
  readonly drainAfterRecoveryMs: number | undefined;
  /** Dead letters of messages that ran out of attempts (reason `retries-exhausted`). */
  readonly exhaustedDeadLetters: number;
  /**
   * Of those, how many belong to a key whose work was done anyway beyond its sends (must be 0: a
   * dead letter must mean "not done"; a re-sent copy applied after the storm is fine).
   */
  readonly exhaustedWithEffect: number;
}

export const SMALL_STORM: StormOptions = {
  seconds: 15,
  faults: 25,
  messages: 120,
  fifo: 30,
  groups: 5,
  dups: 10,
  deadlineMs: 180_000,
};

export const SMALL_BURST = { times: 20, deadlineMs: 180_000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends each list's batches evenly spread over `windowMs` (FIFO: in order, one at a time). */
async function sendPaced(
  clients: LocalClients,
  lists: { queueUrl: string; planned: Planned[] }[],
  windowMs: number,
) {
  const started = Date.now();
  await Promise.all(
    lists.map(async ({ queueUrl, planned }) => {
      const batches = Math.ceil(planned.length / 10);
      for (let b = 0; b < batches; b++) {
        const due = started + (b * windowMs) / batches;
        if (due > Date.now()) await sleep(due - Date.now());
        await sendAll(clients, queueUrl, planned.slice(b * 10, b * 10 + 10), 1);
      }
    }),
  );
}

export async function runStorm(
  clients: LocalClients,
  output: Output,
  options: StormOptions,
  progress: (line: string) => void = () => undefined,
): Promise<StormReport> {
  const run = randomUUID().slice(0, 8);
  const standardUrl = output("NotificationsQueueUrl");
  const fifoUrl = output("OrdersQueueUrl");
  const started = Date.now();
  const stormEnd = started + options.seconds * 1000;
  // Every message carries the degraded rates with the window's end: a delivery before it fails
  // at the storm's rate, one after it runs clean (faults.ts reads the clock per delivery).
  const rates = { ...NO_FAULTS, transientPercent: options.faults, untilEpochMs: stormEnd };
  const plan: ChaosOptions = {
    messages: options.messages,
    fifo: options.fifo,
    groups: options.groups,
    faults: options.faults,
    timeouts: 0,
    ddbErrors: 0,
    dups: options.dups,
    poison: 0,
    deadlineMs: options.deadlineMs,
  };
  const notifications = planNotifications(run, plan, rates, standardUrl);
  const orderEvents = planOrderEvents(run, plan, rates, fifoUrl);
  progress(
    `storm ${run}: ${options.faults} % transient failures for ${options.seconds} s while sending ${notifications.length} standard and ${orderEvents.length} FIFO messages`,
  );
  // Sending stops a little before the window ends, so every message meets the storm.
  await sendPaced(
    clients,
    [
      { queueUrl: standardUrl, planned: notifications },
      { queueUrl: fifoUrl, planned: orderEvents },
    ],
    options.seconds * 900,
  );
  const settled = await settleAndAccount(
    clients,
    output,
    { runId: run, notifications, orderEvents, started, deadlineMs: options.deadlineMs },
    progress,
  );
  const { retryTimes, drainedAt, deadLetterKeys, ...report } = settled;
  // Out of attempts on the injected failure, or on what it causes: a FIFO message skipped behind
  // a failed earlier one of its group on its last delivery (BLOCKED_BY_GROUP), say.
  const exhausted = deadLetterKeys.filter((d) => d.reason === "retries-exhausted");
  return {
    ...report,
    stormSeconds: options.seconds,
    stormFaults: options.faults,
    retriesDuringStorm: retryTimes.filter((t) => t < stormEnd).length,
    retriesAfterStorm: retryTimes.filter((t) => t >= stormEnd).length,
    drainAfterRecoveryMs: drainedAt === undefined ? undefined : drainedAt - stormEnd,
    exhaustedDeadLetters: exhausted.length,
    exhaustedWithEffect: exhausted.filter((d) => d.excess).length,
  };
}

export interface BurstReport extends ChaosReport {
  /** Batch size × maximum concurrency of the notifications consumer's event source mapping. */
  readonly capacity: number;
  readonly times: number;
  /** Messages a second from the first send until the source queues were empty. */
  readonly throughput: number;
}

/** Batch size × maximum concurrency, from the deployed event source mapping. */
export async function consumerCapacity(clients: LocalClients, functionName: string) {
  const { EventSourceMappings = [] } = await clients.lambda.send(
    new ListEventSourceMappingsCommand({ FunctionName: functionName }),
  );
  const mapping = EventSourceMappings[0];
  const batchSize = mapping?.BatchSize;
  const concurrency = mapping?.ScalingConfig?.MaximumConcurrency;
  if (!batchSize || !concurrency)
    throw new Error(
      `${functionName}: no event source mapping with a batch size and maximum concurrency`,
    );
  return { batchSize, concurrency, capacity: batchSize * concurrency };
}

export async function runBurst(
  clients: LocalClients,
  output: Output,
  options: { times: number; deadlineMs: number },
  progress: (line: string) => void = () => undefined,
): Promise<BurstReport> {
  const run = randomUUID().slice(0, 8);
  const standardUrl = output("NotificationsQueueUrl");
  const { batchSize, concurrency, capacity } = await consumerCapacity(
    clients,
    output("NotificationsFunctionName"),
  );
  const plan: ChaosOptions = {
    messages: capacity * options.times,
    fifo: 0,
    groups: 1,
    faults: 0,
    timeouts: 0,
    ddbErrors: 0,
    dups: 0,
    poison: 0,
    deadlineMs: options.deadlineMs,
  };
  const notifications = planNotifications(run, plan, NO_FAULTS, standardUrl);
  progress(
    `burst ${run}: ${notifications.length} messages at once (${options.times} × capacity ${capacity} = batch ${batchSize} × concurrency ${concurrency})`,
  );
  const started = Date.now();
  await sendAll(clients, standardUrl, notifications, 8);
  const {
    retryTimes: _times,
    drainedAt,
    deadLetterKeys: _keys,
    ...report
  } = await settleAndAccount(
    clients,
    output,
    { runId: run, notifications, orderEvents: [], started, deadlineMs: options.deadlineMs },
    progress,
  );
  const seconds = ((drainedAt ?? Date.now()) - started) / 1000;
  return {
    ...report,
    capacity,
    times: options.times,
    throughput: Math.round(notifications.length / Math.max(seconds, 0.001)),
  };
}
