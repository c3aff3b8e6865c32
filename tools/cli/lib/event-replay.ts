import { randomUUID } from "node:crypto";
import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  StartReplayCommand,
} from "@aws-sdk/client-eventbridge";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import type {
  EventReplayConfig,
  EventReplaySubscription,
} from "../../../lib/spool/transactional-outbox/contract.js";
import type { Operator } from "./audit.js";
import type { EventReplayAudit, EventReplayFinished } from "./change-audits.js";

/**
 * `spool events replay`: the events of a past window delivered again, to the bus (every
 * subscription) or to one subscription. Two sources:
 * - `archive`: EventBridge's StartReplay from the outbox's archive (`archiveRetention`), with the
 *   subscription's rule as the only FilterArn; the CLI follows it with DescribeReplay;
 * - `outbox`: the outbox table's PUBLISHED rows whose event time is in the window, re-sent as the
 *   publisher sent them (same id, source, type, time and detail): PutEvents to the bus, or the
 *   detail straight to the subscription's queue, as its rule would deliver it (`$.detail`).
 * Consumers deduplicate by event id, so either way a replay re-applies nothing already done.
 */

export type ReplaySource = "archive" | "outbox";

export interface EventReplayRequest {
  readonly config: EventReplayConfig;
  readonly source: ReplaySource;
  readonly from: Date;
  readonly to: Date;
  /** The subscription's name and where its rule delivers; absent: the whole bus. */
  readonly subscription?: { readonly name: string } & EventReplaySubscription;
  readonly dryRun: boolean;
}

export interface EventReplayDeps {
  readonly events: EventBridgeClient;
  readonly sqs: SQSClient;
  readonly db: DynamoDBDocumentClient;
  /** Absent on a dry run: nothing is recorded. */
  readonly audit: EventReplayAudit | undefined;
  readonly operator: Operator;
  readonly stack: string;
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** How long to follow an archive replay before leaving it running. @default 15 min */
  readonly waitMs?: number;
}

/** One outbox row in the window, as the replay re-sends it. */
export interface ReplayedEvent {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: string;
}

export interface OutboxReplayReport {
  readonly source: "outbox";
  readonly replayId: string | undefined;
  readonly dryRun: boolean;
  readonly from: string;
  readonly to: string;
  readonly subscription: string | undefined;
  readonly destination: string;
  /** PUBLISHED rows in the window: what is (or would be) sent. */
  readonly events: readonly ReplayedEvent[];
  readonly sent: number;
  readonly failed: readonly { readonly id: string; readonly reason: string }[];
  /** Rows in the window not replayed: PENDING (the publisher will send them), FAILED (its DLQ). */
  readonly skipped: { readonly pending: number; readonly failed: number };
}

export interface ArchiveReplayReport {
  readonly source: "archive";
  readonly replayId: string | undefined;
  readonly dryRun: boolean;
  readonly from: string;
  readonly to: string;
  readonly subscription: string | undefined;
  readonly archiveArn: string;
  /** On a dry run: what the archive holds over its whole retention. */
  readonly archiveEventCount?: number;
  readonly replayName?: string;
  readonly replayArn?: string;
  /** The last state DescribeReplay reported (STARTING … COMPLETED, FAILED, CANCELLED). */
  readonly state?: string;
  readonly stateReason?: string;
}

export type EventReplayReport = OutboxReplayReport | ArchiveReplayReport;

const TERMINAL_REPLAY_STATES = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
const AUDITED_IDS = 500;

interface OutboxItem {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly source?: unknown;
  readonly event?: unknown;
  readonly status?: unknown;
  readonly createdAt?: unknown;
}

interface WindowRows {
  readonly published: { readonly row: ReplayedEvent; readonly detail: string }[];
  readonly pending: number;
  readonly failed: number;
}

/** The outbox rows whose event time is in [from, to), oldest first, by status. */
export async function outboxRowsInWindow(
  db: DynamoDBDocumentClient,
  table: string,
  from: Date,
  to: Date,
): Promise<WindowRows> {
  const published: WindowRows["published"] = [];
  let pending = 0;
  let failed = 0;
  // A scan: the table has no index by time, and an operator's replay is rare and bounded by the
  // rows' retention (publishedRetention, 7 days by default). The window is compared as times,
  // not strings, so a producer's time zone offset does not matter.
  for await (const page of paginateScan(
    { client: db },
    {
      TableName: table,
      ProjectionExpression: "id, #t, #s, event, #st, createdAt",
      ExpressionAttributeNames: { "#t": "type", "#s": "source", "#st": "status" },
    },
  )) {
    for (const item of (page.Items ?? []) as OutboxItem[]) {
      const time = typeof item.createdAt === "string" ? Date.parse(item.createdAt) : Number.NaN;
      if (!(time >= from.getTime() && time < to.getTime())) continue;
      if (item.status === "PENDING") pending++;
      else if (item.status === "FAILED") failed++;
      else if (item.status === "PUBLISHED" && typeof item.event === "string") {
        published.push({
          row: {
            id: String(item.id),
            type: String(item.type),
            source: String(item.source),
            time: new Date(time).toISOString(),
          },
          detail: item.event,
        });
      }
    }
  }
  published.sort(
    (a, b) => a.row.time.localeCompare(b.row.time) || a.row.id.localeCompare(b.row.id),
  );
  return { published, pending, failed };
}

async function resend(
  request: EventReplayRequest,
  rows: WindowRows["published"],
  deps: EventReplayDeps,
): Promise<{ sent: number; failed: { id: string; reason: string }[] }> {
  let sent = 0;
  const failed: { id: string; reason: string }[] = [];
  for (let i = 0; i < rows.length; i += 10) {
    if (deps.signal?.aborted) throw new Error("interrupted");
    const batch = rows.slice(i, i + 10);
    if (request.subscription) {
      // What the subscription's rule delivers: the detail alone as the body, no attributes.
      const result = await deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: request.subscription.targetQueueUrl,
          Entries: batch.map((r, n) => ({ Id: `e${n}`, MessageBody: r.detail })),
        }),
      );
      sent += result.Successful?.length ?? 0;
      for (const f of result.Failed ?? []) {
        const row = batch[Number(f.Id?.slice(1))];
        failed.push({ id: row?.row.id ?? "?", reason: `${f.Code}: ${f.Message ?? ""}`.trim() });
      }
    } else {
      // As the publisher put it: the same source, type, time and detail (publish.ts).
      const entries: PutEventsRequestEntry[] = batch.map((r) => ({
        EventBusName: request.config.eventBusName,
        Source: r.row.source,
        DetailType: r.row.type,
        Detail: r.detail,
        Time: new Date(r.row.time),
      }));
      const result = await deps.events.send(new PutEventsCommand({ Entries: entries }));
      (result.Entries ?? []).forEach((entry, n) => {
        if (entry.ErrorCode) {
          failed.push({
            id: batch[n]?.row.id ?? "?",
            reason: `${entry.ErrorCode}: ${entry.ErrorMessage ?? ""}`.trim(),
          });
        } else sent++;
      });
    }
  }
  return { sent, failed };
}

/** Runs the replay (audited unless a dry run) and reports what it did. */
export async function replayEvents(
  request: EventReplayRequest,
  deps: EventReplayDeps,
): Promise<EventReplayReport> {
  const now = () => deps.now?.() ?? new Date();
  const base = {
    dryRun: request.dryRun,
    from: request.from.toISOString(),
    to: request.to.toISOString(),
    subscription: request.subscription?.name,
  };
  if (request.source === "archive") return replayFromArchive(request, deps, base, now);

  const destination = request.subscription?.targetQueueUrl ?? request.config.eventBusName;
  const rows = await outboxRowsInWindow(
    deps.db,
    request.config.outboxTable,
    request.from,
    request.to,
  );
  const report = {
    source: "outbox" as const,
    ...base,
    destination,
    events: rows.published.map((r) => r.row),
    skipped: { pending: rows.pending, failed: rows.failed },
  };
  if (request.dryRun) return { ...report, replayId: undefined, sent: 0, failed: [] };
  const audit = requireAudit(deps);
  const replayId = randomUUID();
  await audit.started({
    replayId,
    stack: deps.stack,
    source: "outbox",
    from: base.from,
    to: base.to,
    ...(request.subscription ? { subscription: request.subscription.name } : {}),
    destination,
    operator: deps.operator,
    startedAt: now().toISOString(),
  });
  try {
    const { sent, failed } = await resend(request, rows.published, deps);
    await audit.finished(replayId, {
      status: failed.length ? "failed" : "completed",
      matched: rows.published.length,
      sent,
      failed: failed.length,
      eventIds: rows.published.slice(0, AUDITED_IDS).map((r) => r.row.id),
      finishedAt: now().toISOString(),
    });
    return { ...report, replayId, sent, failed };
  } catch (error) {
    await audit.finished(replayId, {
      status: deps.signal?.aborted ? "interrupted" : "failed",
      matched: rows.published.length,
      finishedAt: now().toISOString(),
      error: (error as Error).message,
    });
    throw error;
  }
}

/** Every replay but a dry run is recorded: none runs without its audit. */
function requireAudit(deps: EventReplayDeps): EventReplayAudit {
  if (!deps.audit) throw new Error("an event replay needs an audit (only a dry run has none)");
  return deps.audit;
}

/** "spool-20261207T120405-3f9c1a2b": ReplayName allows [.\-_A-Za-z0-9], 64 characters at most. */
export function replayName(at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "");
  return `spool-${stamp}-${randomUUID().slice(0, 8)}`;
}

async function replayFromArchive(
  request: EventReplayRequest,
  deps: EventReplayDeps,
  base: { dryRun: boolean; from: string; to: string; subscription: string | undefined },
  now: () => Date,
): Promise<ArchiveReplayReport> {
  const archiveArn = request.config.archiveArn as string;
  if (request.dryRun) {
    const archive = await deps.events.send(
      new DescribeArchiveCommand({ ArchiveName: archiveArn.split("/").pop() }),
    );
    return {
      source: "archive",
      ...base,
      replayId: undefined,
      archiveArn,
      ...(archive.EventCount !== undefined ? { archiveEventCount: archive.EventCount } : {}),
    };
  }
  const audit = requireAudit(deps);
  const replayId = randomUUID();
  const name = replayName(now());
  await audit.started({
    replayId,
    stack: deps.stack,
    source: "archive",
    from: base.from,
    to: base.to,
    ...(request.subscription ? { subscription: request.subscription.name } : {}),
    destination: request.subscription?.ruleArn ?? request.config.eventBusArn,
    operator: deps.operator,
    startedAt: now().toISOString(),
  });
  let finished: Omit<EventReplayFinished, "finishedAt"> = { status: "failed" };
  try {
    const started = await deps.events.send(
      new StartReplayCommand({
        ReplayName: name,
        Description: `spool events replay ${replayId}`,
        EventSourceArn: archiveArn,
        EventStartTime: request.from,
        EventEndTime: request.to,
        Destination: {
          Arn: request.config.eventBusArn,
          ...(request.subscription ? { FilterArns: [request.subscription.ruleArn] } : {}),
        },
      }),
    );
    let state = started.State ?? "STARTING";
    let stateReason: string | undefined;
    const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    const deadline = Date.now() + (deps.waitMs ?? 15 * 60_000);
    while (!TERMINAL_REPLAY_STATES.has(state) && Date.now() < deadline && !deps.signal?.aborted) {
      await sleep(2_000);
      const described = await deps.events.send(new DescribeReplayCommand({ ReplayName: name }));
      state = described.State ?? state;
      stateReason = described.StateReason;
    }
    finished = {
      status:
        state === "COMPLETED"
          ? "completed"
          : TERMINAL_REPLAY_STATES.has(state)
            ? "failed"
            : deps.signal?.aborted
              ? "interrupted"
              : "started",
      ...(started.ReplayArn ? { replayArn: started.ReplayArn } : {}),
      state,
      ...(stateReason ? { error: stateReason } : {}),
    };
    return {
      source: "archive",
      ...base,
      replayId,
      archiveArn,
      replayName: name,
      ...(started.ReplayArn ? { replayArn: started.ReplayArn } : {}),
      state,
      ...(stateReason ? { stateReason } : {}),
    };
  } catch (error) {
    finished = { status: "failed", error: (error as Error).message };
    throw error;
  } finally {
    await audit.finished(replayId, { ...finished, finishedAt: now().toISOString() });
  }
}
