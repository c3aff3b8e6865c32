import { type Command, InvalidArgumentError, Option } from "commander";
import { deadLetterFacts } from "../lib/dead-letter-facts.js";
import type { DeadLetter } from "../lib/dead-letters.js";
import { SpoolCliError } from "../lib/errors.js";
import { addFilterOptions, type FilterOptions, filterFromOptions } from "../lib/filter-options.js";
import { formatAge, formatSeconds, renderTable, truncate } from "../lib/format.js";
import { positiveInt } from "../lib/options.js";
import { Progress } from "../lib/progress.js";
import { parseRate } from "../lib/rate-limiter.js";
import type { ReplayOutcome } from "../lib/replay.js";
import { findDeadLetterQueue } from "../lib/stack.js";
import type { CliContext, SpoolCommand } from "../spool.js";
import { registerDisposalCommands } from "./dlq-disposal.js";
import { registerHistoryCommand } from "./dlq-history.js";

// Kept importable from here, where the replay command's tests have always found it.
export { filterFromOptions };

const holdOption = () =>
  new Option(
    "--hold <seconds>",
    "how long a dead letter stays hidden from others while spool reads it",
  )
    .argParser(positiveInt("--hold", 43_200))
    .default(30);

/** A dead letter as JSON: everything an operator could want, dates as ISO strings. */
export function deadLetterJson(letter: DeadLetter) {
  return {
    id: letter.id,
    originalId: letter.originalId,
    ...deadLetterFacts(letter),
    receiveCount: Number(letter.system.ApproximateReceiveCount ?? 0),
    metadata: letter.metadata ?? null,
    attributes: Object.fromEntries(
      Object.entries(letter.attributes).map(([k, v]) => [k, v.StringValue ?? `(${v.DataType})`]),
    ),
    body: letter.body,
  };
}

export function renderDeadLetterList(
  queue: string,
  letters: readonly DeadLetter[],
  total: { visible: number; inFlight: number },
  now: Date,
): string {
  if (letters.length === 0) {
    return `No dead letters visible for ${queue}${total.inFlight ? ` (${total.inFlight} in flight: someone else is reading or replaying them)` : ""}.`;
  }
  const rows = letters.map((l) => [
    l.id,
    formatAge(l.deadLetteredAt, now),
    l.attempts ?? "?",
    l.via === "spool"
      ? `${l.errorCode} (${l.errorClass})`
      : l.via === "redrive"
        ? "moved by SQS redrive"
        : "no metadata",
    truncate(
      l.errorMessage ??
        (l.via === "redrive"
          ? `no Spool metadata: SQS moved it after ${l.attempts ?? "maxReceiveCount"} receives`
          : "no Spool metadata, no redrive source: sent to the DLQ directly?"),
      60,
    ),
  ]);
  // Counted after the read released them, so the total includes the ones listed.
  const shown = `${letters.length} of ~${total.visible + total.inFlight}`;
  return [
    `Dead letters of ${queue} (${shown}; read without consuming them):`,
    "",
    renderTable(["id", "dead-lettered", "attempts", "error", "message"], rows),
    "",
    "Details: spool dlq show <queue> <id>. Replay: spool dlq replay <queue> --dry-run [filters].",
  ].join("\n");
}

export function renderDeadLetter(letter: DeadLetter, now: Date): string {
  const line = (k: string, v: unknown) => `${`${k}:`.padEnd(18)}${v ?? "-"}`;
  let body = letter.body;
  try {
    body = JSON.stringify(JSON.parse(letter.body), null, 2);
  } catch {
    // not JSON: shown as received
  }
  const attributes = Object.entries(letter.attributes)
    .filter(([k]) => k !== "spool-dead-letter")
    .map(([k, v]) => `  ${k} = ${v.StringValue ?? `(${v.DataType})`}`);
  return [
    line("id", letter.id),
    line("original id", letter.originalId),
    line(
      "dead-lettered",
      `${letter.deadLetteredAt.toISOString()} (${formatAge(letter.deadLetteredAt, now)})`,
    ),
    line(
      "how",
      letter.via === "spool"
        ? `by consumer ${letter.metadata?.consumer} (${letter.reason})`
        : letter.via === "redrive"
          ? "moved by the SQS redrive policy (no Spool metadata)"
          : "unknown: no Spool metadata and no redrive source (sent to the DLQ directly?)",
    ),
    line("error class", letter.errorClass),
    line("error code", letter.errorCode),
    line("error message", letter.errorMessage),
    line("attempts", letter.attempts),
    line("first failure", letter.firstFailureAt?.toISOString()),
    line("source queue", letter.sourceArn),
    line("correlation id", letter.correlationId),
    line("message group", letter.groupId),
    line("schema version", letter.metadata?.schemaVersion),
    line(
      "receive count",
      `${letter.system.ApproximateReceiveCount ?? "?"} (SQS; includes reads from the DLQ)`,
    ),
    ...(letter.metadata?.errorDetails
      ? [line("error details", JSON.stringify(letter.metadata.errorDetails))]
      : []),
    "attributes:",
    ...(attributes.length ? attributes : ["  (none)"]),
    "body:",
    ...body.split("\n").map((l) => `  ${l}`),
  ].join("\n");
}

export function renderReplay(outcome: ReplayOutcome): string {
  const lines: string[] = [];
  if (outcome.nativeUnavailable) {
    lines.push(
      `SQS's message move task is not available at this endpoint (${truncate(outcome.nativeUnavailable, 80)}): moving them itself (receive, send, delete).`,
    );
  }
  const rate = outcome.elapsedMs > 0 ? (outcome.moved / outcome.elapsedMs) * 1000 : 0;
  const where =
    outcome.target === outcome.queue ? `back to ${outcome.queue}` : `to ${outcome.target}`;
  if (outcome.dryRun) {
    lines.push(
      `Dry run: ${outcome.matched} of ${outcome.examined} dead letters examined would move from the DLQ of ${outcome.queue} ${outcome.target === outcome.queue ? "back to it" : `to ${outcome.target}`} (filter: ${outcome.filter}).`,
    );
  } else if (outcome.method === "message-move-task") {
    lines.push(
      `SQS moved ${outcome.moved} dead letters ${where} (move task ${outcome.moveTaskHandle}) in ${formatSeconds(outcome.elapsedMs / 1000)}.`,
    );
  } else {
    lines.push(
      `Moved ${outcome.moved} of ${outcome.examined} dead letters examined ${where} in ${formatSeconds(outcome.elapsedMs / 1000)} (${rate.toFixed(1)}/s; filter: ${outcome.filter}).`,
    );
  }
  if (outcome.messages.length) {
    lines.push(
      "",
      renderTable(
        [
          "dead-letter id",
          "error code",
          "group",
          outcome.dryRun ? "dead-lettered" : "new message id",
        ],
        outcome.messages.map((m) => [
          m.id,
          m.errorCode ?? `(${m.reason})`,
          m.groupId ?? "-",
          outcome.dryRun ? m.deadLetteredAt : (m.newMessageId ?? "-"),
        ]),
      ),
    );
  }
  for (const f of outcome.failures) lines.push(`not moved (still in the DLQ): ${f.id}: ${f.error}`);
  for (const f of outcome.notDeleted) {
    lines.push(
      `sent back but not deleted from the DLQ (a duplicate, not a loss): ${f.id}: ${f.error}`,
    );
  }
  if (outcome.interrupted) {
    lines.push("Interrupted: every dead letter not moved is back in the DLQ.");
  }
  lines.push(
    "",
    outcome.dryRun
      ? "Nothing was moved. Run again without --dry-run to move them."
      : `Recorded as replay ${outcome.replayId}: what became of them, spool dlq history ${outcome.replayId}`,
  );
  return lines.join("\n");
}

type ReplayOptions = FilterOptions & {
  dryRun: boolean;
  rate?: number;
  limit?: number;
  hold: number;
  native: boolean;
  auditTable?: string;
  to?: string;
  pipelines: number;
  batchSize: number;
};

async function list(context: CliContext, ref: string, options: { limit: number; hold: number }) {
  // What runs a command is loaded as it runs, not as it is declared (tools/cli/README.md).
  const { peekDeadLetters, queueCounts } = await import("../lib/dead-letters.js");
  const queue = findDeadLetterQueue(await context.inventory(), ref);
  const { sqs } = context.clients();
  const letters = await peekDeadLetters(sqs, queue, {
    limit: options.limit,
    holdSeconds: options.hold,
    signal: context.signal,
  });
  const total = await queueCounts(sqs, queue.deadLetterQueue.url);
  const now = new Date();
  context.emit({
    text: renderDeadLetterList(queue.name, letters, total, now),
    json: letters.map(deadLetterJson),
  });
}

async function show(context: CliContext, ref: string, id: string, options: { hold: number }) {
  const { DeadLetterReader } = await import("../lib/dead-letters.js");
  const queue = findDeadLetterQueue(await context.inventory(), ref);
  const reader = new DeadLetterReader(context.clients().sqs, queue, options.hold);
  const found: DeadLetter[] = [];
  try {
    for (;;) {
      const batch = await reader.next(10);
      if (batch.length === 0 || context.signal.aborted) break;
      const exact = batch.find((l) => l.id === id || l.originalId === id);
      if (exact) {
        found.splice(0, found.length, exact);
        break;
      }
      found.push(...batch.filter((l) => l.id.startsWith(id) || l.originalId.startsWith(id)));
    }
  } finally {
    await reader.release();
  }
  if (found.length === 0) {
    throw new SpoolCliError(
      `no dead letter ${id} in the DLQ of ${queue.name} (spool dlq list ${queue.name})`,
    );
  }
  if (found.length > 1) {
    throw new SpoolCliError(
      `"${id}" matches ${found.length} dead letters (${found.map((l) => l.id).join(", ")}): give more of the id`,
    );
  }
  const letter = found[0] as DeadLetter;
  context.emit({ text: renderDeadLetter(letter, new Date()), json: deadLetterJson(letter) });
}

async function replay(context: CliContext, ref: string, options: ReplayOptions) {
  const filter = filterFromOptions(options);
  const { auditTableName, DynamoReplayAudit, whoAmI } = await import("../lib/audit.js");
  const { replayDeadLetters } = await import("../lib/replay.js");
  const inventory = await context.inventory();
  const queue = findDeadLetterQueue(inventory, ref);
  const clients = context.clients();
  const target =
    options.to === undefined
      ? undefined
      : await (await import("../lib/replay-target.js")).resolveReplayTarget(
          inventory,
          clients.sqs,
          options.to,
          queue,
        );
  const audit = options.dryRun
    ? undefined
    : new DynamoReplayAudit(clients.dynamo, auditTableName(inventory, options.auditTable));
  const operator = await whoAmI(clients);
  const progress = new Progress(context.io, options.dryRun ? "examined" : "moved");
  const outcome = await replayDeadLetters(
    {
      queue,
      filter,
      dryRun: options.dryRun,
      limit: options.limit,
      ratePerSecond: options.rate,
      holdSeconds: options.hold,
      allowNative: options.native,
      target,
      pipelines: options.pipelines,
      batchSize: options.batchSize,
    },
    {
      sqs: clients.sqs,
      audit,
      operator,
      stack: inventory.stackName,
      progress,
      signal: context.signal,
    },
  );
  context.emit({ text: renderReplay(outcome), json: outcome });
  if (outcome.failures.length || outcome.notDeleted.length) context.fail(1);
}

export const dlqCommand: SpoolCommand = {
  register(program: Command, context: CliContext) {
    const dlq = program
      .command("dlq")
      .description(
        "dead letters: list, show, replay (with filters, dry run, rate limit), archive, discard, history",
      );

    dlq
      .command("list")
      .description("list a queue's dead letters with why they died, without consuming them")
      .argument("<queue>", "the queue (its name in `spool status`, or its SQS name)")
      .option("--limit <n>", "show at most n", positiveInt("--limit", 10_000), 50)
      .addOption(holdOption())
      .action((ref: string, options: { limit: number; hold: number }) =>
        list(context, ref, options),
      );

    dlq
      .command("show")
      .description("everything about one dead letter: metadata, attributes, body")
      .argument("<queue>", "the queue")
      .argument("<id>", "its id in the DLQ or its original message id (a unique prefix will do)")
      .addOption(holdOption())
      .action((ref: string, id: string, options: { hold: number }) =>
        show(context, ref, id, options),
      );

    const replayCommand = dlq
      .command("replay")
      .description(
        "send dead letters back to their queue: filtered, rate-limited, audited; --dry-run first",
      )
      .argument("<queue>", "the queue whose dead letters to replay");
    addFilterOptions(replayCommand)
      .option("--dry-run", "show what would move; move nothing", false)
      .option(
        "--rate <n/s>",
        "at most n messages per second (e.g. 5, 0.5/s, 300/m)",
        (v: string) => {
          try {
            return parseRate(v);
          } catch (error) {
            throw new InvalidArgumentError((error as Error).message);
          }
        },
      )
      .option("--limit <n>", "move at most n", positiveInt("--limit", 1_000_000))
      .addOption(
        new Option("--hold <seconds>", "how long a dead letter in hand stays hidden from others")
          .argParser(positiveInt("--hold", 43_200))
          .default(60),
      )
      .option("--no-native", "never use SQS's own move task, even for an unfiltered replay")
      .option(
        "--pipelines <n>",
        "receive → send → delete loops side by side (fewer under a low --rate)",
        positiveInt("--pipelines", 16),
        4,
      )
      .option(
        "--batch-size <n>",
        "dead letters per send and per delete (1 moves them one at a time; --rate sends one)",
        positiveInt("--batch-size", 10),
        10,
      )
      .option(
        "--to <queue>",
        "send them to this queue instead of their own (a quarantine or low-rate queue: its name in the stack, or its URL)",
      )
      .option(
        "--audit-table <table>",
        "the audit table (default: the stack's OperatorAuditTableName)",
      )
      .action((ref: string, options: ReplayOptions) => replay(context, ref, options));

    registerDisposalCommands(dlq, context);

    registerHistoryCommand(dlq, context);
  },
};
