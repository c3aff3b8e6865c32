import { randomUUID } from "node:crypto";
import { join, relative } from "node:path";
import { CloudWatchClient, paginateDescribeAlarms } from "@aws-sdk/client-cloudwatch";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { spoolMessage } from "../../../lib/spool/runtime/producer.js";
import { bufferIo } from "../../cli/lib/io.js";
import { PROJECT_DIR } from "../../cli/lib/project.js";
import { runSpool } from "../../cli/spool.js";
import { functionLogLines } from "../lib/aws.js";
import { localClientConfig, localEndpoint } from "../lib/local-cloud.js";
import { ok, say, seconds, step, waitWithProgress } from "../lib/narrate.js";
import type { DemoContext } from "./queues.js";
import { MALFORMED_CORRELATION_ID } from "./queues.js";
import { spool } from "./spool-cli.js";
import { declinedOrderId } from "./workflows.js";

const run = randomUUID().slice(0, 6);

function suppressionKey(recipient: string) {
  return { pk: `suppressed#${recipient.toLowerCase()}`, sk: "suppression" };
}

/**
 * A poison message dead-lettered, then replayed after a fix: a notification to a suppressed
 * recipient dies at once (a business rule, not worth retrying); an operator finds it with the
 * CLI, lifts the suppression, looks at what a filtered replay would move, replays it, and it is
 * delivered exactly once.
 */
export async function poisonReplayedAfterFix(ctx: DemoContext): Promise<void> {
  step("Dead letters: a poison message, the fix, and a filtered, audited replay");
  const table = ctx.output("EffectsTableName");
  const id = `receipt-${run}`;
  const recipient = `${id}@full-mailbox.example`;
  const correlationId = `demo-replay-${run}`;
  await ctx.clients.ddb.send(
    new PutCommand({
      TableName: table,
      Item: { ...suppressionKey(recipient), reason: "mailbox full" },
    }),
  );
  await ctx.clients.sqs.send(
    new SendMessageCommand(
      spoolMessage({
        queueUrl: ctx.output("NotificationsQueueUrl"),
        body: {
          schemaVersion: 1,
          notificationId: id,
          channel: "email",
          recipient,
          template: "order-receipt",
        },
        correlationId,
      }),
    ),
  );
  say(`sent notification ${id} to ${recipient}, a recipient the provider has suppressed`);

  const { elapsedMs } = await waitWithProgress("the dead letter", async () => {
    const io = bufferIo();
    await runSpool(["dlq", "list", "notifications", "--json"], {
      io,
      env: { ...process.env, AWS_ENDPOINT_URL: localEndpoint() },
    });
    const letters = JSON.parse(io.out() || "[]") as { body: string }[];
    return letters.some((l) => l.body.includes(id));
  });
  ok(`dead-lettered at once (a permanent failure burns no retries) in ${seconds(elapsedMs)}`);
  await spool("dlq", "list", "notifications");

  say("");
  say(`The fix: the mailbox has room again, so lift the suppression for ${recipient}.`);
  await ctx.clients.ddb.send(
    new DeleteCommand({ TableName: table, Key: suppressionKey(recipient) }),
  );
  const filter = ["--error-code", "RECIPIENT_SUPPRESSED", "--where", `recipient == '${recipient}'`];
  say("");
  await spool("dlq", "replay", "notifications", ...filter, "--dry-run");
  say("");
  const replayedAt = Date.now();
  const { json } = await spool(
    "dlq",
    "replay",
    "notifications",
    ...filter,
    "--rate",
    "5",
    "--json",
  );
  const outcome = json as { moved: number; replayId: string; examined: number };
  ok(
    `moved ${outcome.moved} of ${outcome.examined} dead letters (the malformed one stays: it matches no filter); replay ${outcome.replayId.slice(0, 8)}… recorded in the audit table`,
  );

  const { value: delivery } = await waitWithProgress(
    "the replayed notification to be delivered",
    async () =>
      (
        await ctx.clients.ddb.send(
          new GetCommand({
            TableName: table,
            Key: { pk: `notification#${id}`, sk: "delivery" },
            ConsistentRead: true,
          }),
        )
      ).Item,
  );
  const processed = (
    await functionLogLines(ctx.clients, ctx.output("NotificationsFunctionName"), id)
  ).filter((l) => l.message === "processed").length;
  ok(
    `delivered ${processed === 1 && !delivery.duplicateDeliveries ? "exactly once" : `${processed} times`} ${seconds(Date.parse(String(delivery.deliveredAt)) - replayedAt)} after the replay began, correlation id ${delivery.correlationId} kept from the original`,
  );
  say("");
  say("What became of the replay: delivered, dead-lettered again, or still in flight?");
  await spool("dlq", "history", outcome.replayId);

  say("");
  say(
    "The malformed message from earlier is beyond any fix a replay could carry: archive it (written out first, then deleted), so it does not expire unseen at the DLQ's retention.",
  );
  const archiveDir = join(PROJECT_DIR, ".spool", "demo-archive");
  const malformed = ["--attribute", `correlation-id=${MALFORMED_CORRELATION_ID}`];
  const { json: archived } = await spool(
    "dlq",
    "archive",
    "notifications",
    ...malformed,
    "--to",
    archiveDir,
    "--yes",
    "--json",
  );
  const archive = archived as { removed: number; archiveLocation?: string };
  ok(
    `archived ${archive.removed} dead letter to ${relative(PROJECT_DIR, archive.archiveLocation ?? archiveDir)} (body, attributes and dead-letter metadata, one JSON line each), then deleted it`,
  );
  await spool("dlq", "history", "notifications", "--limit", "3");
  const entry = ctx.ledger.findIndex((e) => e.message === "malformed body");
  const earlier = ctx.ledger[entry];
  if (earlier && archive.removed === 1) {
    ctx.ledger[entry] = { ...earlier, outcome: `${earlier.outcome} → archived` };
  }
  ctx.ledger.push({
    message: `${id} (suppressed)`,
    outcome: "DLQ → fixed → replayed → delivered once",
  });
}

/**
 * The operator's view of the declined order: the job, its transitions and the saga's steps, in
 * one command, without knowing which Lambda or state machine was involved.
 */
export async function declinedOrderExplained(_ctx: DemoContext): Promise<void> {
  step("Jobs: what happened to the declined order, from the operator's side");
  await spool("jobs", "show", declinedOrderId, "--kind", "order-fulfilment");
}

/** The closing picture: every queue's state, and what watches it. */
export async function closingStatus(ctx: DemoContext): Promise<void> {
  step("Operations: every queue at a glance, and the alarms that watch them");
  await spool("status");
  const cloudwatch = new CloudWatchClient(localClientConfig());
  let alarms = 0;
  for await (const page of paginateDescribeAlarms(
    { client: cloudwatch },
    { AlarmNamePrefix: "Spool-" },
  )) {
    alarms += page.MetricAlarms?.length ?? 0;
  }
  say("");
  ok(
    `${alarms} alarms (depth, age, drain time, dead letters and growth per queue; errors, throttles, duration, concurrency per consumer; failed, timed-out and aborted runs per workflow; undelivered tasks and runs per schedule; dead letters, crashes and lag of the outbox; undelivered events per subscription) notify ${ctx.output("AlarmTopicArn").split(":").pop()}; dashboard ${ctx.output("DashboardName")}`,
  );
}
