import { randomUUID } from "node:crypto";
import { type Command, Option } from "commander";
import {
  type ArchiveSink,
  type ArchiveTarget,
  DirectoryArchive,
  parseArchiveTarget,
} from "../lib/archive.js";
import type { AwsClients } from "../lib/aws.js";
import type { DisposalAction, DisposalOutcome } from "../lib/disposal.js";
import { addFilterOptions, type FilterOptions, filterFromOptions } from "../lib/filter-options.js";
import { formatSeconds, renderTable } from "../lib/format.js";
import { positiveInt } from "../lib/options.js";
import { Progress } from "../lib/progress.js";
import { findDeadLetterQueue } from "../lib/stack.js";
import { clientConfig } from "../lib/target.js";
import type { CliContext } from "../spool.js";

type DisposalOptions = FilterOptions & {
  yes: boolean;
  to?: string;
  limit?: number;
  hold: number;
  auditTable?: string;
};

const VERB = { archive: "archived", discard: "discarded" } as const;

export function renderDisposal(outcome: DisposalOutcome): string {
  const lines: string[] = [];
  const what = outcome.action === "archive" ? "archive (write out, then delete)" : "discard";
  if (outcome.dryRun) {
    lines.push(
      `Dry run: ${outcome.matched} of ${outcome.examined} dead letters examined in the DLQ of ${outcome.queue} would be ${VERB[outcome.action]} (filter: ${outcome.filter}).`,
    );
  } else {
    lines.push(
      `${outcome.action === "archive" ? "Archived" : "Discarded"} ${outcome.removed} of ${outcome.examined} dead letters examined in the DLQ of ${outcome.queue} in ${formatSeconds(outcome.elapsedMs / 1000)} (filter: ${outcome.filter}).`,
    );
    if (outcome.archiveLocation) lines.push(`Written to ${outcome.archiveLocation}.`);
  }
  if (outcome.messages.length) {
    lines.push(
      "",
      renderTable(
        ["dead-letter id", "error code", "dead-lettered", "body sha-256"],
        outcome.messages.map((m) => [
          m.id,
          m.errorCode ?? `(${m.reason})`,
          m.deadLetteredAt,
          m.bodySha256.slice(0, 16),
        ]),
      ),
    );
  }
  for (const f of outcome.failures) lines.push(`left in the DLQ: ${f.id}: ${f.error}`);
  if (outcome.interrupted)
    lines.push("Interrupted: every dead letter not removed is back in the DLQ.");
  lines.push(
    "",
    outcome.dryRun
      ? `Nothing was changed. Run again with --yes to ${what}.`
      : `Recorded as ${outcome.action} ${outcome.operationId} (spool dlq history).`,
  );
  return lines.join("\n");
}

/** The sink `--to` names; S3's client is loaded only for an s3:// target. */
async function archiveSink(
  clients: AwsClients,
  target: ArchiveTarget,
  queue: string,
  operationId: string,
): Promise<ArchiveSink> {
  const name = { queue, operationId, at: new Date() };
  if (target.kind === "directory") return new DirectoryArchive(target.directory, name);
  const [{ S3Client }, { S3Archive }] = await Promise.all([
    import("@aws-sdk/client-s3"),
    import("../lib/archive-s3.js"),
  ]);
  const s3 = new S3Client({
    ...clientConfig(clients.target),
    // An emulator serves buckets by path, not by virtual host.
    forcePathStyle: clients.target.endpoint !== undefined,
  });
  return new S3Archive(s3, target, name);
}

async function dispose(
  context: CliContext,
  action: DisposalAction,
  ref: string,
  options: DisposalOptions,
) {
  const filter = filterFromOptions(options);
  // Checked before anything is read, so a bad target is a usage error even in a dry run.
  const target = action === "archive" ? parseArchiveTarget(options.to) : undefined;
  const dryRun = !options.yes;
  // What runs a command is loaded as it runs, not as it is declared (tools/cli/README.md).
  const { auditTableName, DynamoReplayAudit, whoAmI } = await import("../lib/audit.js");
  const { disposeDeadLetters } = await import("../lib/disposal.js");
  const inventory = await context.inventory();
  const queue = findDeadLetterQueue(inventory, ref);
  const clients = context.clients();
  const audit = dryRun
    ? undefined
    : new DynamoReplayAudit(clients.dynamo, auditTableName(inventory, options.auditTable));
  const operationId = randomUUID();
  const archive =
    target && !dryRun ? await archiveSink(clients, target, queue.name, operationId) : undefined;
  const operator = await whoAmI(clients);
  const outcome = await disposeDeadLetters(
    { action, queue, filter, dryRun, limit: options.limit, holdSeconds: options.hold },
    {
      sqs: clients.sqs,
      audit,
      archive,
      operator,
      stack: inventory.stackName,
      progress: new Progress(context.io, "examined"),
      signal: context.signal,
      newOperationId: () => operationId,
    },
  );
  context.emit({ text: renderDisposal(outcome), json: outcome });
  if (outcome.failures.length) context.fail(1);
}

function register(dlq: Command, context: CliContext, action: DisposalAction, summary: string) {
  const command = dlq
    .command(action)
    .description(summary)
    .argument("<queue>", `the queue whose dead letters to ${action}`);
  addFilterOptions(command);
  if (action === "archive") {
    command.option(
      "--to <dir|s3://bucket/prefix>",
      "where to write the dead letters (required): a directory (one JSON Lines file per run) or an S3 bucket and prefix (one folder per run)",
    );
  }
  command
    .option("--yes", `${action} for real (without it, only report what would happen)`, false)
    .option("--limit <n>", `${action} at most n`, positiveInt("--limit", 1_000_000))
    .addOption(
      new Option("--hold <seconds>", "how long a dead letter in hand stays hidden from others")
        .argParser(positiveInt("--hold", 43_200))
        .default(60),
    )
    .option(
      "--audit-table <table>",
      "the audit table (default: the stack's OperatorAuditTableName)",
    )
    .action((ref: string, options: DisposalOptions) => dispose(context, action, ref, options));
}

/** `spool dlq archive` and `spool dlq discard`: dead letters nobody will replay, on purpose. */
export function registerDisposalCommands(dlq: Command, context: CliContext): void {
  register(
    dlq,
    context,
    "archive",
    "write dead letters (body, attributes, dead-letter metadata) to JSON Lines, then delete them: filtered, audited; a dry run unless --yes",
  );
  register(
    dlq,
    context,
    "discard",
    "delete dead letters nobody will replay: filtered, audited (ids and body hashes); a dry run unless --yes",
  );
}
