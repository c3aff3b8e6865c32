import {
  CreateArchiveCommand,
  DeleteArchiveCommand,
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckoutResponse } from "../../../../lambdas/checkout/place-order.js";
import type { EventReplayConfig } from "../../../../lib/spool/transactional-outbox/contract.js";
import { DynamoEventReplayAudit } from "../../../../tools/cli/lib/change-audits.js";
import { replayEvents } from "../../../../tools/cli/lib/event-replay.js";
import {
  config,
  ddb,
  getItem,
  lambda,
  output,
  queueCounts,
  sqs,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";
import { spool, takeAll } from "../../../helpers/operations.js";

/**
 * `spool events replay` on the emulator, from the outbox table (MiniStack declares no archive:
 * docs/emulator-matrix.md). Two orders of one customer go through checkout, outbox, bus and the
 * three subscriptions; their window is then replayed to one subscription and to the bus, and each
 * time the receivers get the events again (same ids) while every effect stays as it was.
 */
const eventBridge = new EventBridgeClient(config);
const effects = () => output("EffectsTableName");
const replayConfig = () => JSON.parse(output("EventReplay")) as EventReplayConfig;

const customerId = uniqueId("cust-replay");
/** Made by API before the orders (MiniStack's CloudFormation has no AWS::Events::Archive). */
const archiveName = uniqueId("replay-archive");
let archiveArn: string;
const orderIds: string[] = [];
const eventIds: string[] = [];
let from: Date;
let to: Date;

async function checkout(): Promise<CheckoutResponse & { outcome: "created" }> {
  const result = await lambda.send(
    new InvokeCommand({
      FunctionName: output("CheckoutFunctionName"),
      Payload: Buffer.from(
        JSON.stringify({
          idempotencyKey: uniqueId("key"),
          customerId,
          email: "ada@example.com",
          currency: "EUR",
          items: [{ sku: "sku-book", quantity: 1, unitPriceCents: 1_000 }],
        }),
      ),
    }),
  );
  const body = JSON.parse(Buffer.from(result.Payload ?? new Uint8Array()).toString("utf8"));
  if (result.FunctionError || body.outcome !== "created") throw new Error(JSON.stringify(body));
  return body;
}

/** Every effect the two orders have: payment, confirmation, analytics counter. */
async function effectRows() {
  const rows = await Promise.all([
    ...orderIds.flatMap((orderId) => [
      getItem(effects(), { pk: `payment#${orderId}`, sk: "authorization" }),
      getItem(effects(), { pk: `notification#order-confirmation#${orderId}`, sk: "delivery" }),
      getItem(effects(), { pk: `analytics#order#${orderId}`, sk: "counted" }),
    ]),
    getItem(effects(), { pk: `analytics#customer#${customerId}`, sk: "stats#EUR" }),
  ]);
  return rows.every(Boolean) ? rows : undefined;
}

/** A probe rule on the bus receiving the two orders' events: what reached the bus. */
async function probe() {
  const name = uniqueId("replay-probe");
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const queueUrl = QueueUrl as string;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const bus = replayConfig().eventBusName;
  await eventBridge.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: bus,
      EventPattern: JSON.stringify({ detail: { id: eventIds } }),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: bus,
      Targets: [{ Id: "probe", Arn: Attributes?.QueueArn as string, InputPath: "$.detail" }],
    }),
  );
  return {
    queueUrl,
    async ids(): Promise<string[]> {
      return (await takeAll(queueUrl)).map((m) => JSON.parse(m.Body ?? "{}").id as string);
    },
    async remove() {
      await eventBridge.send(
        new RemoveTargetsCommand({ Rule: name, EventBusName: bus, Ids: ["probe"] }),
      );
      await eventBridge.send(new DeleteRuleCommand({ Name: name, EventBusName: bus }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    },
  };
}

/** The event ids visible in a queue (left visible for its consumer). */
async function visibleIds(queueUrl: string): Promise<string[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
    }),
  );
  return Messages.map((m) => JSON.parse(m.Body ?? "{}").id as string);
}

async function drained(queueUrl: string, what: string) {
  await waitFor(
    async () => {
      const { visible, inFlight, delayed } = await queueCounts(queueUrl);
      return visible + inFlight + delayed === 0;
    },
    { what, timeoutMs: 120_000 },
  );
}

const args = () => ["--from", from.toISOString(), "--to", to.toISOString()];

beforeAll(async () => {
  const bus = replayConfig();
  archiveArn = (
    await eventBridge.send(
      new CreateArchiveCommand({
        ArchiveName: archiveName,
        EventSourceArn: bus.eventBusArn,
        // Only this file's customer: the replay then stays within this file's events.
        EventPattern: JSON.stringify({ detail: { data: { customerId: [customerId] } } }),
      }),
    )
  ).ArchiveArn as string;
  from = new Date(Date.now() - 1_000);
  for (let i = 0; i < 2; i++) {
    const order = await checkout();
    orderIds.push(order.orderId);
    eventIds.push(order.eventId);
  }
  await waitFor(effectRows, {
    what: `the effects of orders ${orderIds.join(", ")} in all three subscribers`,
    timeoutMs: 120_000,
  });
  to = new Date(Date.now() + 1_000);
  // The window must be in the past when replayed.
  await waitFor(async () => Date.now() > to.getTime(), { what: "the window to close" });
}, 180_000);

describe("spool events replay (outbox source)", () => {
  it("replays a window to one subscription: its queue gets the events again, the bus nothing, no effect twice", async () => {
    const before = await effectRows();
    const bus = await probe();
    const analytics = replayConfig().subscriptions.analytics?.targetQueueUrl as string;
    // Paused, the consumer leaves what the replay sends visible on its queue.
    const paused = await spool("consumers", "pause", "analytics/queue", "--json");
    expect(paused.code, paused.err).toBe(0);
    let replay: Awaited<ReturnType<typeof spool>>;
    try {
      replay = await spool("events", "replay", ...args(), "--subscription", "analytics", "--json");
      expect(replay.code, replay.err).toBe(0);
      expect(replay.json).toMatchObject({ source: "outbox", subscription: "analytics" });
      const sent = replay.json.events.map((e: { id: string }) => e.id);
      expect(sent).toEqual(expect.arrayContaining(eventIds));
      expect(replay.json.failed).toEqual([]);
      const seen = new Set<string>();
      await waitFor(
        async () => {
          for (const id of await visibleIds(analytics)) seen.add(id);
          return eventIds.every((id) => seen.has(id));
        },
        { what: "the replayed events on the analytics queue", timeoutMs: 60_000 },
      );
    } finally {
      const resumed = await spool("consumers", "resume", "analytics/queue", "--json");
      expect(resumed.code, resumed.err).toBe(0);
    }
    await drained(analytics, "the analytics queue drained after the replay");
    // Once each: the customer's counter still counts two orders, every effect row unchanged.
    expect(await effectRows()).toEqual(before);
    expect((await effectRows())?.at(-1)).toMatchObject({ orders: 2, revenueCents: 2_000 });
    // Nothing went through the bus, so no other subscription got them.
    expect(await bus.ids()).toEqual([]);
    await bus.remove();

    const audit = new DynamoEventReplayAudit(ddb, output("OperatorAuditTableName"));
    const recorded = (await audit.history(50)).find((e) => e.replayId === replay.json.replayId);
    expect(recorded).toMatchObject({
      status: "completed",
      source: "outbox",
      subscription: "analytics",
      destination: analytics,
      sent: replay.json.events.length,
    });
  }, 300_000);

  it("replays a window to the bus: every rule gets the events again with their ids, no effect twice", async () => {
    const before = await effectRows();
    const bus = await probe();
    try {
      const replay = await spool("events", "replay", ...args(), "--json");
      expect(replay.code, replay.err).toBe(0);
      expect(replay.json).toMatchObject({
        source: "outbox",
        destination: replayConfig().eventBusName,
      });
      expect(replay.json.sent).toBe(replay.json.events.length);
      const received = new Set<string>();
      await waitFor(
        async () => {
          for (const id of await bus.ids()) received.add(id);
          return eventIds.every((id) => received.has(id));
        },
        { what: "the replayed events at a rule of the bus", timeoutMs: 60_000 },
      );
      const { subscriptions } = replayConfig();
      for (const [name, s] of Object.entries(subscriptions)) {
        await drained(s.targetQueueUrl, `the ${name} subscription's queue drained`);
      }
      await drained(output("PaymentsQueueUrl"), "the payments queue drained");
      expect(await effectRows()).toEqual(before);
    } finally {
      await bus.remove();
    }
  }, 300_000);

  it("replays nothing from a window without events, and says so", async () => {
    const replay = await spool(
      "events",
      "replay",
      "--from",
      "2020-01-01T00:00:00Z",
      "--to",
      "2020-01-02T00:00:00Z",
      "--json",
    );
    expect(replay.code, replay.err).toBe(0);
    expect(replay.json).toMatchObject({ events: [], sent: 0, failed: [] });
  });

  it("refuses bad arguments with exit 2 and one line", async () => {
    const cases = [
      ["--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z"],
      ["--from", "yesterday", "--to", "2026-12-01T00:00:00Z"],
      ["--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "--subscription", "nope"],
      ["--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "--source", "archive"],
    ];
    for (const argv of cases) {
      const run = await spool("events", "replay", ...argv);
      expect(run.code, argv.join(" ")).toBe(2);
      expect(run.err.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("spool events replay (archive source, through MiniStack's Events API)", () => {
  it("starts a replay of the window from the archive, follows it to COMPLETED, and the bus's rules get the events again, applied once", async () => {
    const before = await effectRows();
    const bus = await probe();
    try {
      const operator = { principal: "test", localUser: "test" };
      const report = await replayEvents(
        { config: { ...replayConfig(), archiveArn }, source: "archive", from, to, dryRun: false },
        {
          events: eventBridge,
          sqs,
          db: ddb,
          audit: new DynamoEventReplayAudit(ddb, output("OperatorAuditTableName")),
          operator,
          stack: "Spool",
          waitMs: 60_000,
        },
      );
      expect(report).toMatchObject({ source: "archive", state: "COMPLETED" });
      const received = new Set<string>();
      await waitFor(
        async () => {
          for (const id of await bus.ids()) received.add(id);
          return eventIds.every((id) => received.has(id));
        },
        { what: "the archive's events replayed to a rule of the bus", timeoutMs: 60_000 },
      );
      for (const [name, s] of Object.entries(replayConfig().subscriptions)) {
        await drained(s.targetQueueUrl, `the ${name} subscription's queue drained`);
      }
      await drained(output("PaymentsQueueUrl"), "the payments queue drained");
      expect(await effectRows()).toEqual(before);
    } finally {
      await bus.remove();
    }
  }, 300_000);
});

afterAll(async () => {
  await eventBridge.send(new DeleteArchiveCommand({ ArchiveName: archiveName }));
  // A failed pause test must not leave the consumer paused for the files after it.
  await spool("consumers", "resume", "analytics/queue");
});
