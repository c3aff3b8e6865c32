/**
 * The total-queue check: push a known population of messages through the deployed consumers
 * with injected faults, duplicates and poison, wait until everything has settled, and account
 * for every message: exactly one effect or one dead letter, none missing, none applied twice,
 * no FIFO group ever going backwards.
 */
import { randomUUID } from "node:crypto";
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
} from "@aws-sdk/client-sqs";
import { FAULT_RATES_ATTRIBUTE, type FaultRates } from "../../../lib/spool/runtime/faults.js";
import { spoolMessage } from "../../../lib/spool/runtime/producer.js";
import type { LocalClients } from "../lib/aws.js";
import { type ChaosReport, type Output, type Planned, settleAndAccount } from "./account.js";

export type { ChaosReport } from "./account.js";

export interface ChaosOptions {
  /** Notification requests on the standard queue. */
  readonly messages: number;
  /** Order events on the FIFO queue. */
  readonly fifo: number;
  /** Orders (message groups) the FIFO events are spread over. */
  readonly groups: number;
  /** Percent of deliveries failing with an injected transient error. */
  readonly faults: number;
  /** Percent of deliveries stalling until the function times out. */
  readonly timeouts: number;
  /** Percent of DynamoDB calls failing with injected throttling. */
  readonly ddbErrors: number;
  /** Percent of messages sent a second time (as a producer re-send would). */
  readonly dups: number;
  /** Percent of extra messages that are poison (malformed or schema-invalid). */
  readonly poison: number;
  /** How long to wait for everything to settle. */
  readonly deadlineMs: number;
}

export const SMALL_CHAOS: ChaosOptions = {
  messages: 150,
  fifo: 60,
  groups: 6,
  faults: 20,
  timeouts: 2,
  ddbErrors: 5,
  dups: 10,
  poison: 3,
  deadlineMs: 240_000,
};

function shuffle<T>(items: T[], random = Math.random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

function entryFrom(
  input: ReturnType<typeof spoolMessage>,
  id: string,
): SendMessageBatchRequestEntry {
  return {
    Id: id,
    MessageBody: input.MessageBody,
    MessageAttributes: input.MessageAttributes as Record<string, MessageAttributeValue>,
    ...(input.MessageGroupId ? { MessageGroupId: input.MessageGroupId } : {}),
    ...(input.MessageDeduplicationId
      ? { MessageDeduplicationId: input.MessageDeduplicationId }
      : {}),
  };
}

/** The standard-queue population: requests, their re-sends, and poison. */
export function planNotifications(
  run: string,
  options: ChaosOptions,
  rates: FaultRates,
  queueUrl: string,
): Planned[] {
  const planned: Planned[] = [];
  const faultAttributes = { [FAULT_RATES_ATTRIBUTE]: JSON.stringify(rates) };
  for (let i = 0; i < options.messages; i++) {
    const key = `chaos-${run}-n${i}`;
    const body = {
      schemaVersion: 1,
      notificationId: key,
      channel: "email",
      recipient: `${key}@example.com`,
      template: "chaos",
    };
    const copies = Math.random() * 100 < options.dups ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const input = spoolMessage({
        queueUrl,
        body,
        correlationId: `${key}-c${c}`,
        attributes: faultAttributes,
      });
      planned.push({ entry: entryFrom(input, `n${i}c${c}`), key, poison: false });
    }
  }
  const poisonCount = Math.round((options.messages * options.poison) / 100);
  for (let i = 0; i < poisonCount; i++) {
    const key = `chaos-${run}-p${i}`;
    // Alternate the two kinds of poison: a body that is not JSON, and one that breaks the schema.
    const body =
      i % 2 === 0
        ? `{"notificationId": "${key}", broken`
        : { schemaVersion: 1, notificationId: key, channel: "fax" };
    const input = spoolMessage({ queueUrl, body, correlationId: key });
    planned.push({ entry: entryFrom(input, `p${i}`), key, poison: true });
  }
  return shuffle(planned);
}

/**
 * The FIFO population: each order's events in sequence (interleaved across orders, as they
 * would arrive), some re-sent later under a new deduplication id so SQS accepts the copy.
 */
export function planOrderEvents(
  run: string,
  options: ChaosOptions,
  rates: FaultRates,
  queueUrl: string,
): Planned[] {
  const planned: Planned[] = [];
  const resends: Planned[] = [];
  const faultAttributes = { [FAULT_RATES_ATTRIBUTE]: JSON.stringify(rates) };
  const perGroup = Math.ceil(options.fifo / options.groups);
  let n = 0;
  for (let seq = 1; seq <= perGroup; seq++) {
    for (let g = 0; g < options.groups && n < options.fifo; g++, n++) {
      const orderId = `chaos-${run}-o${g}`;
      const key = `${orderId}#${seq}`;
      const body = {
        schemaVersion: 1,
        orderId,
        seq,
        type: seq === 1 ? "OrderPlaced" : "OrderShipped",
        customerId: "chaos",
        occurredAt: new Date().toISOString(),
      };
      const send = (copy: number) =>
        entryFrom(
          spoolMessage({
            queueUrl,
            body,
            groupId: orderId,
            deduplicationId: `${key}#${copy}`,
            correlationId: `chaos-${run}-o${g}-${seq}`,
            attributes: faultAttributes,
          }),
          `o${g}s${seq}c${copy}`,
        );
      planned.push({ entry: send(0), key, poison: false });
      if (Math.random() * 100 < options.dups) resends.push({ entry: send(1), key, poison: false });
    }
  }
  return [...planned, ...resends];
}

export async function sendAll(
  clients: LocalClients,
  queueUrl: string,
  planned: Planned[],
  parallel: number,
) {
  const batches: Planned[][] = [];
  for (let i = 0; i < planned.length; i += 10) batches.push(planned.slice(i, i + 10));
  let next = 0;
  const worker = async () => {
    for (;;) {
      const batch = batches[next++];
      if (!batch) return;
      const result = await clients.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((p) => p.entry) }),
      );
      if (result.Failed?.length)
        throw new Error(
          `SQS refused ${result.Failed.length} chaos messages: ${result.Failed[0]?.Message}`,
        );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export async function runChaos(
  clients: LocalClients,
  output: Output,
  options: ChaosOptions,
  progress: (line: string) => void = () => undefined,
): Promise<ChaosReport> {
  const run = randomUUID().slice(0, 8);
  const rates: FaultRates = {
    transientPercent: options.faults,
    timeoutPercent: options.timeouts,
    dynamoErrorPercent: options.ddbErrors,
    slowPercent: 0,
    slowMs: 0,
  };
  const standardUrl = output("NotificationsQueueUrl");
  const fifoUrl = output("OrdersQueueUrl");
  const notifications = planNotifications(run, options, rates, standardUrl);
  const orderEvents = planOrderEvents(run, options, rates, fifoUrl);
  const started = Date.now();

  progress(
    `run ${run}: sending ${notifications.length} standard and ${orderEvents.length} FIFO messages`,
  );
  // FIFO order is the send order, so one sender; the standard queue takes four in parallel.
  await Promise.all([
    sendAll(clients, standardUrl, notifications, 4),
    sendAll(clients, fifoUrl, orderEvents, 1),
  ]);
  const settled = await settleAndAccount(
    clients,
    output,
    { runId: run, notifications, orderEvents, started, deadlineMs: options.deadlineMs },
    progress,
  );
  const { retryTimes: _times, drainedAt: _at, deadLetterKeys: _keys, ...report } = settled;
  return report;
}
