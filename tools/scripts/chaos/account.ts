/**
 * The accounting half of the total-queue check: wait until the source queues drain, then account
 * for every planned message (one effect or one dead letter, none missing, none applied twice, no
 * FIFO group going backwards). Shared by the mixed run (run-chaos.ts) and the retry-storm and
 * burst scenarios (scenarios.ts), which differ only in what they send and when.
 */
import type { Message, SendMessageBatchRequestEntry } from "@aws-sdk/client-sqs";
import { BatchGetCommand } from "@aws-sdk/lib-dynamodb";
import {
  type DeadLetterMetadata,
  parseDeadLetterMetadata,
} from "../../../lib/spool/runtime/dead-letter.js";
import {
  functionLogLines,
  hiddenMessages,
  type LocalClients,
  outstandingMessages,
  takeMatching,
} from "../lib/aws.js";

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

export type Output = (name: string) => string;

export interface Planned {
  readonly entry: SendMessageBatchRequestEntry;
  readonly key: string;
  readonly poison: boolean;
}

/** Longer than a scan's hide (takeMatching: 60 s), so letters another scan held come back. */
const HIDDEN_WAIT_MS = 90_000;

async function collectDeadLetters(clients: LocalClients, queueUrl: string, marker: string) {
  const mine: { message: Message; metadata: DeadLetterMetadata | undefined }[] = [];
  const waitForHiddenUntil = Date.now() + HIDDEN_WAIT_MS;
  for (let quiet = 0; quiet < 2; ) {
    const taken = await takeMatching(
      clients.sqs,
      queueUrl,
      (m) => m.Body?.includes(marker) ?? false,
    );
    for (const m of taken)
      mine.push({ message: m, metadata: parseDeadLetterMetadata(m.MessageAttributes) });
    if (taken.length) {
      quiet = 0;
      continue;
    }
    // A scan running beside this one (another chaos run, `spool dlq list`) hides what it is not
    // taking until its pass ends, ours included: a pass that found nothing proves nothing while
    // letters are hidden, so it counts as quiet only once none are, or the wait is over.
    const hidden = await hiddenMessages(clients.sqs, queueUrl);
    if (hidden === 0 || Date.now() >= waitForHiddenUntil) quiet++;
    await new Promise((r) => setTimeout(r, 1_000));
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

/** What was sent, for the accounting. */
export interface Population {
  readonly runId: string;
  readonly notifications: Planned[];
  readonly orderEvents: Planned[];
  /** When sending started (epoch ms); elapsed time counts from here. */
  readonly started: number;
  readonly deadlineMs: number;
}

/** The report, plus when each transient failure was logged (for the storm's before/after split). */
export interface Settled extends ChaosReport {
  /**
   * Every dead letter: its key, the error code its metadata names, and whether its key ended
   * with more outcomes than sends (an effect on top of it: finished work dead-lettered). A key
   * sent twice may rightly have both: one copy out of attempts, the other applied later.
   */
  readonly deadLetterKeys: {
    key: string;
    reason: string | undefined;
    errorCode: string | undefined;
    excess: boolean;
  }[];
  readonly retryTimes: number[];
  /** Epoch ms at which the source queues were first seen empty (undefined: deadline hit). */
  readonly drainedAt: number | undefined;
}

export async function settleAndAccount(
  clients: LocalClients,
  output: Output,
  population: Population,
  progress: (line: string) => void = () => undefined,
): Promise<Settled> {
  const { runId: run, notifications, orderEvents, started } = population;
  const marker = `chaos-${run}-`;
  const standardUrl = output("NotificationsQueueUrl");
  const fifoUrl = output("OrdersQueueUrl");

  // Settled = both source queues hold nothing (visible, in flight or delayed).
  let drained = false;
  let drainedAt: number | undefined;
  while (Date.now() - started < population.deadlineMs) {
    const [a, b] = await Promise.all([
      outstandingMessages(clients.sqs, standardUrl),
      outstandingMessages(clients.sqs, fifoUrl),
    ]);
    progress(
      `${((Date.now() - started) / 1000).toFixed(0)} s: ${a + b} messages still on the source queues`,
    );
    if (a + b === 0) {
      drained = true;
      drainedAt = Date.now();
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

  const retryTimes = (
    await Promise.all(
      ["NotificationsFunctionName", "OrderEventsFunctionName"].map(async (fn) =>
        (
          await functionLogLines(clients, output(fn), marker)
        )
          .filter((l) => l.message === "transient failure; will retry")
          .map((l) => Date.parse(String(l.timestamp))),
      ),
    )
  ).flat();

  const all = [...standardDead, ...fifoDead];
  const hasEffect = (key: string) => delivered.has(key) || (applied.get(key) ?? 0) > 0;
  const excessive = (key: string) =>
    (hasEffect(key) ? 1 : 0) + (deadByKey.get(key) ?? 0) > (sends.get(key) ?? 1);
  const deadLetterKeys = [
    ...standardDead.map((d) => ({ d, key: keyOf(d.message, false) })),
    ...fifoDead.map((d) => ({ d, key: keyOf(d.message, true) })),
  ].map(({ d, key }) => ({
    key,
    reason: d.metadata?.reason,
    errorCode: d.metadata?.errorCode,
    excess: excessive(key),
  }));
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
    retries: retryTimes.length,
    retryTimes,
    deadLetterKeys,
    drainedAt,
    elapsedMs,
    drained,
  };
}
