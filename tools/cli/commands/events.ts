import { type Command, Option } from "commander";
import type { EventReplayConfig } from "../../../lib/spool/transactional-outbox/contract.js";
import { SpoolCliError } from "../lib/errors.js";
import type { EventReplayReport, ReplaySource } from "../lib/event-replay.js";
import { renderTable } from "../lib/format.js";
import { isoTime } from "../lib/options.js";
import { jsonOutput, type StackInventory } from "../lib/stack.js";
import type { CliContext, SpoolCommand } from "../spool.js";

/** The stack output describing the bus, the outbox, the archive and the subscriptions. */
export const EVENT_REPLAY_OUTPUT = "EventReplay";

export function eventReplayConfig(inventory: StackInventory): EventReplayConfig {
  return jsonOutput<EventReplayConfig>(
    inventory,
    EVENT_REPLAY_OUTPUT,
    "the event bus, outbox and subscriptions",
  );
}

interface ReplayOptions {
  from: Date;
  to: Date;
  subscription?: string;
  source?: ReplaySource;
  dryRun: boolean;
  wait: boolean;
  auditTable?: string;
}

function usage(message: string): never {
  throw new SpoolCliError(message, 2);
}

/** The source: as asked, else the archive when the stack has one, else the outbox table. */
export function chooseSource(config: EventReplayConfig, asked: ReplaySource | undefined) {
  if (asked === "archive" && !config.archiveArn) {
    usage(
      "--source archive: the stack's outbox has no archive (archiveRetention); use --source outbox",
    );
  }
  return asked ?? (config.archiveArn ? "archive" : "outbox");
}

export function renderReplay(report: EventReplayReport): string {
  const window = `${report.from} .. ${report.to}`;
  const to = report.subscription ? `subscription ${report.subscription}` : "the bus";
  if (report.source === "archive") {
    if (report.dryRun) {
      return `Dry run: would replay the archive's events of ${window} to ${to} (StartReplay from ${report.archiveArn}; the archive holds ${report.archiveEventCount ?? "?"} event(s) in all). Nothing was started.`;
    }
    return [
      `Replay ${report.replayName} of ${window} to ${to}: ${report.state}${report.stateReason ? ` (${report.stateReason})` : ""}.`,
      report.state === "COMPLETED"
        ? "Consumers skip the events they already processed (by event id)."
        : `Follow it: aws events describe-replay --replay-name ${report.replayName}`,
      `Recorded as event replay ${report.replayId}.`,
    ].join("\n");
  }
  const skipped = [
    report.skipped.pending ? `${report.skipped.pending} not yet published (PENDING)` : "",
    report.skipped.failed ? `${report.skipped.failed} dead-lettered (FAILED: spool dlq)` : "",
  ].filter(Boolean);
  const head = report.dryRun
    ? `Dry run: ${report.events.length} published event(s) of ${window} would be re-sent from the outbox to ${to}. Nothing was sent.`
    : `Re-sent ${report.sent} of ${report.events.length} published event(s) of ${window} from the outbox to ${to} (${report.destination})${report.failed.length ? `; ${report.failed.length} failed` : ""}.`;
  const lines = [head];
  if (skipped.length) lines.push(`Not replayed: ${skipped.join(", ")}.`);
  if (report.events.length) {
    const failures = new Map(report.failed.map((f) => [f.id, f.reason]));
    lines.push(
      "",
      renderTable(
        ["event id", "type", "source", "time", ...(report.dryRun ? [] : ["outcome"])],
        report.events.map((e) => [
          e.id,
          e.type,
          e.source,
          e.time,
          ...(report.dryRun ? [] : [failures.get(e.id) ?? "sent"]),
        ]),
      ),
    );
  }
  if (!report.dryRun) lines.push("", `Recorded as event replay ${report.replayId}.`);
  return lines.join("\n");
}

async function replay(context: CliContext, options: ReplayOptions) {
  if (!(options.from.getTime() < options.to.getTime())) {
    usage(
      `--from must be before --to, got ${options.from.toISOString()} .. ${options.to.toISOString()}`,
    );
  }
  if (options.to.getTime() > Date.now()) {
    usage(
      `a replay covers past events only: --to must not be in the future, got ${options.to.toISOString()}`,
    );
  }
  const inventory = await context.inventory();
  const config = eventReplayConfig(inventory);
  let subscription: ({ name: string } & EventReplayConfig["subscriptions"][string]) | undefined;
  if (options.subscription !== undefined) {
    const found = config.subscriptions[options.subscription];
    if (!found) {
      usage(
        `no subscription "${options.subscription}" in stack ${inventory.stackName}; its subscriptions: ${Object.keys(config.subscriptions).join(", ") || "none"}`,
      );
    }
    subscription = { name: options.subscription, ...found };
  }
  const source = chooseSource(config, options.source);
  // What runs a command is loaded as it runs, not as it is declared (tools/cli/README.md).
  const { auditTableName, whoAmI } = await import("../lib/audit.js");
  const { DynamoEventReplayAudit } = await import("../lib/change-audits.js");
  const { replayEvents } = await import("../lib/event-replay.js");
  const clients = context.clients();
  const audit = options.dryRun
    ? undefined
    : new DynamoEventReplayAudit(clients.dynamo, auditTableName(inventory, options.auditTable));
  const report = await replayEvents(
    {
      config,
      source,
      from: options.from,
      to: options.to,
      ...(subscription ? { subscription } : {}),
      dryRun: options.dryRun,
    },
    {
      events: clients.events,
      sqs: clients.sqs,
      db: clients.dynamo,
      audit,
      operator: await whoAmI(clients),
      stack: inventory.stackName,
      signal: context.signal,
      ...(options.wait ? {} : { waitMs: 0 }),
    },
  );
  context.emit({ text: renderReplay(report), json: report });
  const failed =
    report.source === "outbox"
      ? report.failed.length > 0
      : report.state === "FAILED" || report.state === "CANCELLED";
  if (failed) context.fail(1);
}

export const eventsCommand: SpoolCommand = {
  register(program: Command, context: CliContext) {
    const events = program
      .command("events")
      .description("the event bus: replay a past window of events");
    events
      .command("replay")
      .description(
        "deliver a past window of events again, to every subscription or one (--subscription); consumers skip what they already did (by event id); audited",
      )
      .requiredOption("--from <time>", "window start, inclusive (ISO 8601)", isoTime("--from"))
      .requiredOption(
        "--to <time>",
        "window end, exclusive (ISO 8601, not in the future)",
        isoTime("--to"),
      )
      .option("--subscription <name>", "replay to this subscription only (its consumer name)")
      .addOption(
        new Option(
          "--source <source>",
          "archive: EventBridge StartReplay; outbox: re-send the outbox table's published rows (default: archive when the stack has one)",
        ).choices(["archive", "outbox"]),
      )
      .option("--dry-run", "say what would be replayed; send and record nothing", false)
      .option("--no-wait", "archive: start the replay and return, without following it")
      .option(
        "--audit-table <table>",
        "the audit table (default: the stack's OperatorAuditTableName)",
      )
      .addHelpText(
        "after",
        "\nThe window is the events' own time. The outbox keeps published rows for its publishedRetention (7 days by default); the archive for its archiveRetention. With the outbox source, --subscription sends each event's detail straight to that subscription's queue, as its rule would.",
      )
      .action((options: ReplayOptions) => replay(context, options));
  },
};
