import type { Command } from "commander";
import type { ReplayHistoryEntry } from "../lib/audit.js";
import { SpoolCliError } from "../lib/errors.js";
import { renderTable, truncate } from "../lib/format.js";
import { positiveInt } from "../lib/options.js";
import type { ReplayOutcomeReport } from "../lib/replay-outcome.js";
import type { CliContext } from "../spool.js";

type HistoryOptions = { limit: number; auditTable?: string; hold: number };

function renderHistory(entries: readonly ReplayHistoryEntry[]): string {
  if (entries.length === 0) return "No replays, archives or discards recorded.";
  return renderTable(
    ["started", "action", "queue", "to", "by", "moved", "status", "filter", "id"],
    entries.map((e) => [
      e.startedAt,
      e.action ?? "replay",
      e.queue,
      (e.action ?? "replay") === "replay" ? (e.targetQueue ?? e.queue) : "-",
      `${e.operator?.principal ?? "?"} (${e.operator?.localUser ?? "?"})`,
      e.moved ?? "?",
      (e as { status?: string }).status ?? "?",
      truncate(e.filter ?? "", 40),
      e.replayId,
    ]),
  );
}

export function renderReplayOutcome(report: ReplayOutcomeReport): string {
  const lines = [
    `Replay ${report.replayId} (${report.status}, started ${report.startedAt}): ${report.moved} dead letters of ${report.queue} sent to ${report.target}.`,
  ];
  if (!report.tracked) {
    lines.push(
      "SQS's move task moved them: they carry no replay mark and the audit names none, so their outcome is not tracked (a filtered replay, or one with --no-native, is).",
    );
    return lines.join("\n");
  }
  lines.push(
    "",
    `  delivered            ${report.delivered}`,
    `  dead-lettered again  ${report.deadLetteredAgain}`,
    `  still in flight      ${report.inFlight}${report.inFlight ? ` (${report.target} holds ${report.targetQueue.visible} visible, ${report.targetQueue.inFlight} in flight, ${report.targetQueue.delayed} delayed: up to that many of these)` : ""}`,
    ...(report.untracked
      ? [`  untracked            ${report.untracked} (sent without a mark)`]
      : []),
  );
  const again = report.messages.filter((m) => m.outcome === "dead-lettered-again");
  if (again.length) {
    lines.push(
      "",
      renderTable(
        ["dead-letter id", "original id", "replay count", "error code", "now"],
        again.map((m) => [
          m.deadLetterId,
          m.originalId,
          m.replayCount,
          m.againErrorCode ?? "-",
          m.movedOnBy ?? `in the DLQ as ${m.againId}`,
        ]),
      ),
    );
  }
  if (report.deadLetterQueueUrl === null) {
    lines.push(
      "",
      `${report.target} has no dead-letter queue: none can be found dead-lettered again.`,
    );
  }
  lines.push(
    "",
    report.settled
      ? "Settled: none of them is still on the queue."
      : "Not settled yet: run again later.",
  );
  return lines.join("\n");
}

async function history(context: CliContext, ref: string | undefined, options: HistoryOptions) {
  const { auditTableName, DynamoReplayAudit } = await import("../lib/audit.js");
  const inventory = await context.inventory();
  const table = auditTableName(inventory, options.auditTable);
  const audit = new DynamoReplayAudit(context.clients().dynamo, table);
  const wanted = ref?.trim();
  const queue = wanted
    ? inventory.queues.find(
        (q) =>
          q.name === wanted ||
          q.queueName === wanted ||
          q.url === wanted ||
          q.deadLetterQueue?.queueName === wanted ||
          q.deadLetterQueue?.url === wanted,
      )
    : undefined;
  if (wanted && !queue) {
    // Not a queue: a replay id.
    const entry = wanted ? await audit.find(wanted) : undefined;
    if (!entry) {
      throw new SpoolCliError(
        `"${ref}" is neither a queue of stack ${inventory.stackName} nor a replay recorded in ${table} (spool dlq history lists them)`,
        2,
      );
    }
    if ((entry.action ?? "replay") !== "replay") {
      throw new SpoolCliError(
        `${entry.replayId} is a ${entry.action}, not a replay: its dead letters were removed, not sent anywhere`,
        2,
      );
    }
    const { replayOutcome } = await import("../lib/replay-outcome.js");
    const report = await replayOutcome(entry, {
      sqs: context.clients().sqs,
      audit,
      holdSeconds: options.hold,
      signal: context.signal,
    });
    context.emit({ text: renderReplayOutcome(report), json: report });
    return;
  }
  // The newest first; a queue filter reads a few more so it can still fill the page.
  const entries = (await audit.history(queue ? options.limit * 5 : options.limit))
    .filter((e) => !queue || e.queue === queue.name)
    .slice(0, options.limit);
  context.emit({ text: renderHistory(entries), json: entries });
}

export function registerHistoryCommand(dlq: Command, context: CliContext): void {
  dlq
    .command("history")
    .description(
      "who replayed, archived or discarded which dead letters; with a replay id, what became of its messages",
    )
    .argument(
      "[queue|replay-id]",
      "only operations on this queue; or one replay: delivered, dead-lettered again, still in flight",
    )
    .option("--limit <n>", "show at most n", positiveInt("--limit", 1_000), 20)
    .option(
      "--hold <seconds>",
      "with a replay id: how long each dead letter stays hidden while history reads the DLQ",
      positiveInt("--hold", 43_200),
      30,
    )
    .option(
      "--audit-table <table>",
      "the audit table (default: the stack's OperatorAuditTableName)",
    )
    .action((ref: string | undefined, options: HistoryOptions) => history(context, ref, options));
}
