/**
 * The total-queue check: push a known population of messages through the deployed consumers
 * with injected faults, duplicates and poison, wait until everything has settled, and account
 * for every message: exactly one effect or one dead letter, none missing, none applied twice,
 * no FIFO group ever going backwards.
 */
import { randomUUID } from "node:crypto";
import {
  type Message,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
} from "@aws-sdk/client-sqs";
import { BatchGetCommand } from "@aws-sdk/lib-dynamodb";
import {
  type DeadLetterMetadata,
  parseDeadLetterMetadata,
} from "../../../lib/spool/runtime/dead-letter.js";
import { FAULT_RATES_ATTRIBUTE, type FaultRates } from "../../../lib/spool/runtime/faults.js";
import { spoolMessage } from "../../../lib/spool/runtime/producer.js";
import {
  functionLogLines,
  type LocalClients,
  outstandingMessages,
  takeMatching,
} from "../lib/aws.js";

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

export interface ChaosReport {
  readonly runId: string;
  readonly sent: number;
  readonly keys: number;
  readonly effects: number;
  readonly deadLetters: number;
  /** Dead letters without Spool metadata: moved by the redrive policy after a crash or timeout. */
  readonly bareDeadLetters: number;
  /** Keys with neither an effect nor a dead letter. */
  readonly lost: number;
  /** Effects applied twice (an order event twice in its history). */
  readonly duplicates: number;
  /** FIFO histories where a later event was applied before an earlier one. */
  readonly orderViolations: number;
  readonly poisonSent: number;
  /** Poison messages with at least one dead letter (a redelivered batch may add a second). */
  readonly poisonDeadLettered: number;
  /** Their dead letters, counting the second copies. */
  readonly poisonLetters: number;
  /** Poison dead letters without the metadata an operator needs. */
  readonly poisonWithoutMetadata: number;
  /**
   * Messages that ended as both: more outcomes (effect + dead letters) for a key than messages
   * sent with it. A replay of such a dead letter is suppressed, but it is counted here.
   */
  readonly doubleOutcomes: number;
  /** A few of them, for diagnosis: key and what the dead letters said. */
  readonly doubleOutcomeSamples: { key: string; deadLetters: string[] }[];
  /** Duplicate calls the effect boundary refused (idempotency missed them, the write did not). */
  readonly refusedAtEffectBoundary: number;
  /** Transient failures retried, from the consumers' logs. */
  readonly retries: number;
  readonly elapsedMs: number;
  readonly drained: boolean;
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

type Output = (name: string) => string;

interface Planned {
  readonly entry: SendMessageBatchRequestEntry;
  readonly key: string;
  readonly poison: boolean;
}

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
function planNotifications(
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
function planOrderEvents(
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

async function sendAll(
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

/** Takes every dead letter of this run out of a DLQ (two quiet passes in a row end it). */
async function collectDeadLetters(clients: LocalClients, queueUrl: string, marker: string) {
  const mine: { message: Message; metadata: DeadLetterMetadata | undefined }[] = [];
  for (let quiet = 0; quiet < 2; ) {
    const taken = await takeMatching(
      clients.sqs,
      queueUrl,
      (m) => m.Body?.includes(marker) ?? false,
    );
    for (const m of taken)
      mine.push({ message: m, metadata: parseDeadLetterMetadata(m.MessageAttributes) });
    quiet = taken.length ? 0 : quiet + 1;
    if (quiet) await new Promise((r) => setTimeout(r, 1_000));
  }
  return mine;
}

async function batchGet(clients: LocalClients, table: string, keys: { pk: string; sk: string }[]) {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let request:
      | Record<string, { Keys: { pk: string; sk: string }[]; ConsistentRead: boolean }>
      | undefined = {
      [table]: { Keys: keys.slice(i, i + 100), ConsistentRead: true },
    };
    while (request && Object.keys(request).length) {
      const out = await clients.ddb.send(new BatchGetCommand({ RequestItems: request }));
      items.push(...((out.Responses?.[table] ?? []) as Record<string, unknown>[]));
      request = out.UnprocessedKeys as typeof request;
    }
  }
  return items;
}

export async function runChaos(
  clients: LocalClients,
  output: Output,
  options: ChaosOptions,
  progress: (line: string) => void = () => undefined,
): Promise<ChaosReport> {
  const run = randomUUID().slice(0, 8);
  const marker = `chaos-${run}-`;
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

  // Settled = both source queues hold nothing (visible, in flight or delayed).
  let drained = false;
  while (Date.now() - started < options.deadlineMs) {
    const [a, b] = await Promise.all([
      outstandingMessages(clients.sqs, standardUrl),
      outstandingMessages(clients.sqs, fifoUrl),
    ]);
    progress(
      `${((Date.now() - started) / 1000).toFixed(0)} s: ${a + b} messages still on the source queues`,
    );
    if (a + b === 0) {
      drained = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const elapsedMs = Date.now() - started;

  const [standardDead, fifoDead] = await Promise.all([
    collectDeadLetters(clients, output("NotificationsDeadLetterQueueUrl"), marker),
    collectDeadLetters(clients, output("OrdersDeadLetterQueueUrl"), marker),
  ]);
  const deadByKey = new Map<string, number>();
  const keyOf = (m: Message, fifo: boolean) => {
    try {
      const body = JSON.parse(m.Body ?? "");
      return fifo ? `${body.orderId}#${body.seq}` : String(body.notificationId);
    } catch {
      return (m.Body?.match(/chaos-[a-z0-9]+-p\d+/) ?? [""])[0];
    }
  };
  for (const d of standardDead)
    deadByKey.set(keyOf(d.message, false), (deadByKey.get(keyOf(d.message, false)) ?? 0) + 1);
  for (const d of fifoDead)
    deadByKey.set(keyOf(d.message, true), (deadByKey.get(keyOf(d.message, true)) ?? 0) + 1);

  // Effects: one delivery row per notification; each order's applied history.
  const table = output("EffectsTableName");
  const notificationKeys = [...new Set(notifications.filter((p) => !p.poison).map((p) => p.key))];
  const deliveries = await batchGet(
    clients,
    table,
    notificationKeys.map((k) => ({ pk: `notification#${k}`, sk: "delivery" })),
  );
  const delivered = new Set(deliveries.map((d) => String(d.pk).slice("notification#".length)));
  const refusedAtEffectBoundary = deliveries.reduce(
    (sum, d) => sum + Number(d.duplicateDeliveries ?? 0),
    0,
  );

  const orderIds = [...new Set(orderEvents.map((p) => p.key.split("#")[0] as string))];
  const projections = await batchGet(
    clients,
    table,
    orderIds.map((o) => ({ pk: `order#${o}`, sk: "projection" })),
  );
  const applied = new Map<string, number>();
  let orderViolations = 0;
  let refusedOrders = 0;
  for (const projection of projections) {
    const orderId = String(projection.pk).slice("order#".length);
    const seqs = ((projection.history ?? []) as { seq: number }[]).map((h) => h.seq);
    for (let i = 1; i < seqs.length; i++)
      if ((seqs[i] as number) <= (seqs[i - 1] as number)) orderViolations++;
    for (const seq of seqs)
      applied.set(`${orderId}#${seq}`, (applied.get(`${orderId}#${seq}`) ?? 0) + 1);
    refusedOrders += Number(projection.duplicateDeliveries ?? 0);
  }

  let lost = 0;
  let duplicates = 0;
  let doubleOutcomes = 0;
  const sends = new Map<string, number>();
  for (const p of [...notifications, ...orderEvents]) sends.set(p.key, (sends.get(p.key) ?? 0) + 1);
  const samples: { key: string; deadLetters: string[] }[] = [];
  const describe = (key: string) =>
    [...standardDead, ...fifoDead]
      .filter((d) => keyOf(d.message, d.message.Body?.includes('"orderId"') ?? false) === key)
      .map((d) =>
        d.metadata ? `${d.metadata.reason}/${d.metadata.errorCode}@${d.metadata.attempts}` : "bare",
      );
  const excess = (key: string, outcomes: number) => {
    const extra = Math.max(0, outcomes - (sends.get(key) ?? 1));
    if (extra > 0 && samples.length < 5) samples.push({ key, deadLetters: describe(key) });
    return extra;
  };
  let effects = 0;
  for (const key of notificationKeys) {
    const effect = delivered.has(key) ? 1 : 0;
    effects += effect;
    const dead = deadByKey.get(key) ?? 0;
    if (effect === 0 && dead === 0) lost++;
    doubleOutcomes += excess(key, effect + dead);
  }
  const orderKeys = [...new Set(orderEvents.map((p) => p.key))];
  for (const key of orderKeys) {
    const times = applied.get(key) ?? 0;
    effects += Math.min(times, 1);
    if (times > 1) duplicates += times - 1;
    const dead = deadByKey.get(key) ?? 0;
    if (times === 0 && dead === 0) lost++;
    doubleOutcomes += excess(key, Math.min(times, 1) + dead);
  }

  const poisonKeys = notifications.filter((p) => p.poison).map((p) => p.key);
  const poisonLetters = standardDead.filter((d) =>
    poisonKeys.some((k) => d.message.Body?.includes(`"${k}"`)),
  );
  const poisonWithoutMetadata = poisonLetters.filter(
    (d) => !d.metadata || !["MALFORMED_JSON", "SCHEMA_INVALID"].includes(d.metadata.errorCode),
  ).length;
  for (const key of poisonKeys) if (!deadByKey.get(key)) lost++;

  const retries = (
    await Promise.all(
      ["NotificationsFunctionName", "OrderEventsFunctionName"].map(
        async (fn) =>
          (
            await functionLogLines(clients, output(fn), marker)
          ).filter((l) => l.message === "transient failure; will retry").length,
      ),
    )
  ).reduce((a, b) => a + b, 0);

  const all = [...standardDead, ...fifoDead];
  return {
    runId: run,
    sent: notifications.length + orderEvents.length,
    keys: notificationKeys.length + orderKeys.length + poisonKeys.length,
    effects,
    deadLetters: all.length,
    bareDeadLetters: all.filter((d) => !d.metadata).length,
    lost,
    duplicates,
    orderViolations,
    poisonSent: poisonKeys.length,
    poisonDeadLettered: poisonKeys.filter((k) => (deadByKey.get(k) ?? 0) > 0).length,
    poisonLetters: poisonLetters.length,
    poisonWithoutMetadata,
    doubleOutcomes,
    doubleOutcomeSamples: samples,
    refusedAtEffectBoundary: refusedAtEffectBoundary + refusedOrders,
    retries,
    elapsedMs,
    drained,
  };
}
