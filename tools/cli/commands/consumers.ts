import type { Command } from "commander";
import type { ConsumerChangeEntry } from "../lib/change-audits.js";
import type { ConsumerChangeOutcome } from "../lib/consumer-state.js";
import {
  type Consumer,
  type ConsumerAction,
  findConsumer,
  loadConsumers,
} from "../lib/consumers.js";
import { SpoolCliError } from "../lib/errors.js";
import { formatSeconds, renderTable } from "../lib/format.js";
import type { GroupHold } from "../lib/group-holds.js";
import { positiveInt } from "../lib/options.js";
import type { CliContext, SpoolCommand } from "../spool.js";

export function renderConsumers(stack: string, consumers: readonly Consumer[]): string {
  if (consumers.length === 0) {
    return `No consumers in stack ${stack} (no Lambda reads one of its queues through an SQS event source mapping).`;
  }
  return renderTable(
    ["consumer", "queue", "state", "batch", "max concurrency", "function", "mapping"],
    consumers.map((c) => [
      c.name,
      c.queueName,
      c.state,
      c.batchSize ?? "-",
      c.maxConcurrency ?? "-",
      c.functionName,
      c.uuid,
    ]),
  );
}

const DONE = { pause: "paused", resume: "resumed" } as const;

export function renderChange(o: ConsumerChangeOutcome): string {
  const mapping = `its event source mapping ${o.mappingUuid}`;
  switch (o.outcome) {
    case "unchanged":
      return `Consumer ${o.consumer} is already ${DONE[o.action]} (${mapping} is ${o.after}): nothing to do.`;
    case "dry-run":
      return `Dry run: ${o.action} would take ${mapping} of consumer ${o.consumer} from ${o.before} to ${o.after}. Nothing was changed.`;
    case "joined":
      return `Consumer ${o.consumer} was already being ${DONE[o.action]} (${mapping} was ${o.before}); it now reports ${o.after}.`;
    case "changed":
      return [
        `${o.action === "pause" ? "Paused" : "Resumed"} consumer ${o.consumer}: ${mapping} is ${o.after} (was ${o.before}), after ${formatSeconds(o.waitedMs / 1000)}.`,
        o.action === "pause"
          ? `Messages wait on queue ${o.queue}, their age grows, none are lost. Start it again: spool consumers resume ${o.consumer}.`
          : `It is reading queue ${o.queue} again; spool status shows the backlog draining.`,
        `Recorded as change ${o.changeId} (spool consumers history).`,
      ].join("\n");
  }
}

function renderHistory(entries: readonly ConsumerChangeEntry[]): string {
  if (entries.length === 0) return "No pauses or resumes recorded.";
  return renderTable(
    ["started", "action", "consumer", "by", "before", "after", "status", "change id"],
    entries.map((e) => [
      e.startedAt,
      e.action,
      e.consumer,
      `${e.operator?.principal ?? "?"} (${e.operator?.localUser ?? "?"})`,
      e.before,
      e.after ?? "?",
      (e as { status?: string }).status ?? "?",
      e.changeId,
    ]),
  );
}

async function list(context: CliContext) {
  const inventory = await context.inventory();
  const consumers = await loadConsumers(context.clients().lambda, inventory);
  context.emit({ text: renderConsumers(inventory.stackName, consumers), json: consumers });
}

interface ChangeOptions {
  dryRun: boolean;
  wait: number;
  auditTable?: string;
}

async function change(
  context: CliContext,
  action: ConsumerAction,
  ref: string,
  options: ChangeOptions,
) {
  // What runs a command is loaded as it runs, not as it is declared (tools/cli/README.md).
  const { auditTableName, whoAmI } = await import("../lib/audit.js");
  const { DynamoConsumerAudit } = await import("../lib/change-audits.js");
  const { changeConsumerState } = await import("../lib/consumer-state.js");
  const inventory = await context.inventory();
  const clients = context.clients();
  const consumer = findConsumer(
    await loadConsumers(clients.lambda, inventory),
    ref,
    inventory.stackName,
  );
  const audit = options.dryRun
    ? undefined
    : new DynamoConsumerAudit(clients.dynamo, auditTableName(inventory, options.auditTable));
  const outcome = await changeConsumerState(
    { consumer, action, dryRun: options.dryRun, waitSeconds: options.wait },
    {
      lambda: clients.lambda,
      audit,
      operator: await whoAmI(clients),
      stack: inventory.stackName,
      signal: context.signal,
    },
  );
  context.emit({ text: renderChange(outcome), json: outcome });
}

async function history(
  context: CliContext,
  ref: string | undefined,
  options: { limit: number; auditTable?: string },
) {
  const { auditTableName } = await import("../lib/audit.js");
  const { DynamoConsumerAudit } = await import("../lib/change-audits.js");
  const inventory = await context.inventory();
  const clients = context.clients();
  const audit = new DynamoConsumerAudit(
    clients.dynamo,
    auditTableName(inventory, options.auditTable),
  );
  // A consumer that is gone from the stack still has its history: filter by the recorded name.
  const name = ref?.trim();
  const entries = (await audit.history(name ? options.limit * 5 : options.limit))
    .filter((e) => !name || e.consumer === name || e.mappingUuid === name)
    .slice(0, options.limit);
  context.emit({ text: renderHistory(entries), json: entries });
}

interface HoldsOptions {
  release?: string;
  dryRun: boolean;
  auditTable?: string;
}

function renderHolds(consumer: string, holds: readonly GroupHold[]): string {
  if (holds.length === 0) return `Consumer ${consumer} holds no message group.`;
  return renderTable(
    ["group", "held since", "head (dead-lettered)", "parked", "outstanding"],
    holds.map((h) => [h.group, h.heldAt ?? "?", h.head ?? "(applied)", h.parked, h.outstanding]),
  );
}

async function holds(context: CliContext, ref: string, options: HoldsOptions) {
  const lib = await import("../lib/group-holds.js");
  const inventory = await context.inventory();
  const clients = context.clients();
  const consumer = findConsumer(
    await loadConsumers(clients.lambda, inventory),
    ref,
    inventory.stackName,
  );
  const place = await lib.holdPlaceOf(clients.lambda, consumer);
  if (options.release === undefined) {
    const found = await lib.listHolds(clients.dynamo, place);
    context.emit({
      text: renderHolds(consumer.name, found),
      json: { consumer: consumer.name, enabled: place.enabled, holds: found },
    });
    return;
  }
  const hold = await lib.readHold(clients.dynamo, place, options.release);
  if (!hold) {
    throw new SpoolCliError(`consumer ${consumer.name} holds no group "${options.release}"`, 2);
  }
  if (options.dryRun) {
    context.emit({
      text: `Dry run: releasing group ${hold.group} would let its next records run; ${hold.outstanding} dead letter(s) it waits for stay in the DLQ. Nothing was changed.`,
      json: { dryRun: true, hold },
    });
    return;
  }
  const { auditTableName, whoAmI } = await import("../lib/audit.js");
  const audit = new lib.DynamoHoldReleaseAudit(
    clients.dynamo,
    auditTableName(inventory, options.auditTable),
  );
  const outcome = await lib.releaseHold(clients.dynamo, place, hold, audit, {
    operator: await whoAmI(clients),
    stack: inventory.stackName,
    consumer: consumer.name,
  });
  const text =
    outcome.status === "completed"
      ? `Released group ${hold.group} of consumer ${consumer.name}: its next records run. Its ${hold.outstanding} dead letter(s) stay in the DLQ (replay or discard them). Recorded as ${outcome.releaseId}.`
      : `Group ${hold.group} was not released (${outcome.status}${outcome.error ? `: ${outcome.error}` : ", the hold moved on since it was read: look again"}).`;
  context.emit({ text, json: outcome });
  if (outcome.status !== "completed") context.fail(1);
}

const auditTableOption = [
  "--audit-table <table>",
  "the audit table (default: the stack's OperatorAuditTableName)",
] as const;

function changeCommand(parent: Command, context: CliContext, action: ConsumerAction) {
  parent
    .command(action)
    .description(
      action === "pause"
        ? "stop a consumer: disable its event source mapping (messages wait on the queue); audited"
        : "start a paused consumer again: enable its event source mapping; audited",
    )
    .argument("<name>", "the consumer (spool consumers list), its queue or its function")
    .option("--dry-run", "show what would change; change nothing", false)
    .option(
      "--wait <seconds>",
      "how long to wait for the mapping to report the new state",
      positiveInt("--wait", 900),
      120,
    )
    .option(...auditTableOption)
    .action((ref: string, options: ChangeOptions) => change(context, action, ref, options));
}

export const consumersCommand: SpoolCommand = {
  register(program: Command, context: CliContext) {
    const consumers = program
      .command("consumers")
      .description("queue consumers: list, pause and resume (audited), history, group holds");

    consumers
      .command("list")
      .description(
        "every consumer: its queue, event source mapping and state, batch size, max concurrency",
      )
      .action(() => list(context));
    consumers
      .command("holds")
      .description(
        "FIFO groups held behind a dead letter (holdGroupOnDeadLetter); --release <group> lets one run again (audited)",
      )
      .argument("<name>", "the consumer (spool consumers list), its queue or its function")
      .option("--release <group>", "release this group's hold (its dead letters stay in the DLQ)")
      .option("--dry-run", "with --release: show what would change; change nothing", false)
      .option(...auditTableOption)
      .action((ref: string, options: HoldsOptions) => holds(context, ref, options));
    changeCommand(consumers, context, "pause");
    changeCommand(consumers, context, "resume");
    consumers
      .command("history")
      .description("who paused or resumed which consumer, when, and the state before and after")
      .argument("[name]", "only changes of this consumer")
      .option("--limit <n>", "show at most n", positiveInt("--limit", 1_000), 20)
      .option(...auditTableOption)
      .action((ref: string | undefined, options: { limit: number; auditTable?: string }) =>
        history(context, ref, options),
      );
  },
};
