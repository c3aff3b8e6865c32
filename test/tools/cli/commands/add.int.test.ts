import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { createEvent } from "../../../../lib/spool/runtime/envelope.js";
import { readCatalog } from "../../../../tools/cli/lib/closure.js";
import { takeMatching } from "../../../../tools/scripts/lib/aws.js";
import {
  config,
  getItem,
  lambda,
  queueCounts,
  sqs,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";
import {
  compile,
  createScratchApp,
  deploy,
  type ModuleSystem,
  resourceOf,
  type ScratchApp,
  synthesize,
} from "../../../helpers/scratch-app.js";

/**
 * The copy path, for every construct: a blank CDK app made the way `cdk init` makes one (and
 * the same app as ESM), `spool add <construct>` into it, the construct README's first usage
 * example written into a stack, `tsc --strict`, synthesis (esbuild bundles its functions) and
 * cdk-nag with no unacknowledged finding. The constructs with Lambda code behind a message are
 * then deployed to the emulator this run already uses and must turn one message into one effect.
 */
const catalog = readCatalog();
const root = mkdtempSync(join(tmpdir(), "spool-copy-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cases = Object.keys(catalog.constructs).flatMap((construct) =>
  (["commonjs", "esm"] as ModuleSystem[]).map((moduleSystem) => ({ construct, moduleSystem })),
);

describe.concurrent("a construct copied alone into a blank CDK app", () => {
  it.for(cases)(
    "$construct ($moduleSystem): spool add, tsc --strict, synth, cdk-nag",
    async ({ construct, moduleSystem }) => {
      const app = await createScratchApp(root, construct, moduleSystem);
      await compile(app);
      const findings = await synthesize(app);
      expect(findings).toEqual([]);
    },
  );
});

const invoke = async (functionName: string, payload: unknown) => {
  const result = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload) }),
  );
  const text = new TextDecoder().decode(result.Payload);
  if (result.FunctionError) throw new Error(`${functionName} failed: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
};

const received = (queueUrl: string, match: (body: Record<string, unknown>) => boolean) =>
  waitFor(
    async () => {
      const [message] = await takeMatching(sqs, queueUrl, (m) =>
        match(JSON.parse(m.Body ?? "null") as Record<string, unknown>),
      );
      return message ? (JSON.parse(message.Body ?? "null") as Record<string, unknown>) : undefined;
    },
    { what: `a matching message on ${queueUrl}`, timeoutMs: 60_000, intervalMs: 500 },
  );

/** One message in, one effect out, for each construct the catalog marks for a smoke check. */
const smokeChecks: Record<
  string,
  (app: ScratchApp, outputs: Record<string, string>) => Promise<void>
> = {
  "queue-consumer": async (app, outputs) => {
    const queue = resourceOf(app, outputs, "AWS::SQS::Queue", "Greetings/Resource");
    const table = resourceOf(app, outputs, "AWS::DynamoDB::Table", "GreetingsTable/Resource");
    const id = uniqueId("greeting");
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queue, MessageBody: JSON.stringify({ id, name: "Ada" }) }),
    );
    const item = await waitFor(() => getItem(table, { id }), { what: "the greeting" });
    expect(item).toMatchObject({ id, text: "Hello, Ada" });
    // Acknowledged, not retried: the queue drains and nothing is dead-lettered.
    const dlq = resourceOf(app, outputs, "AWS::SQS::Queue", "GreetingsDlq/Resource");
    await waitFor(
      async () => {
        const { visible, inFlight, delayed } = await queueCounts(queue);
        return visible + inFlight + delayed === 0;
      },
      { what: "the greetings queue drained" },
    );
    expect(await queueCounts(dlq)).toMatchObject({ visible: 0, inFlight: 0 });
  },
  "delayed-tasks": async (app, outputs) => {
    const fn = resourceOf(app, outputs, "AWS::Lambda::Function", "ScheduleReminder/Resource");
    const reminders = resourceOf(app, outputs, "AWS::SQS::Queue", "Reminders/Resource");
    const orderId = uniqueId("order");
    const scheduled = await invoke(fn, { orderId, delaySeconds: 2 });
    expect(scheduled).toMatchObject({ created: true });
    const task = await received(reminders, (b) => b.taskKey === `reminder#${orderId}`);
    expect(task).toMatchObject({ kind: "spool.task", payload: { orderId } });
  },
  "saga-workflow": async (app, outputs) => {
    const machine = resourceOf(
      app,
      outputs,
      "AWS::StepFunctions::StateMachine",
      "Fulfilment/StateMachine/Resource",
    );
    const jobs = resourceOf(app, outputs, "AWS::DynamoDB::Table", "Jobs/Table/Resource");
    const sfn = new SFNClient(config);
    const orderId = uniqueId("order");
    const jobId = `order:${orderId}`;
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machine,
        name: orderId,
        input: JSON.stringify({
          jobId,
          correlationId: orderId,
          request: { orderId, totalCents: 500 },
        }),
      }),
    );
    const status = await waitFor(
      async () => {
        const e = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return e.status === "RUNNING" ? undefined : e.status;
      },
      { what: "the execution to end", timeoutMs: 60_000 },
    );
    expect(status).toBe("SUCCEEDED");
    const job = await waitFor(() => getItem(jobs, { jobId }), { what: "the job record" });
    expect(job).toMatchObject({ status: "SUCCEEDED" });
  },
  "transactional-outbox": async (app, outputs) => {
    const fn = resourceOf(app, outputs, "AWS::Lambda::Function", "PlaceOrder/Resource");
    const placed = resourceOf(app, outputs, "AWS::SQS::Queue", "OrderPlaced/Resource");
    const orderId = uniqueId("order");
    const { eventId } = await invoke(fn, { orderId, totalCents: 1200 });
    const event = await received(
      placed,
      (b) => (b.detail as { id?: string } | undefined)?.id === eventId,
    );
    expect(event).toMatchObject({
      "detail-type": "OrderPlaced",
      detail: { type: "OrderPlaced", data: { orderId, totalCents: 1200 } },
    });
  },
  "event-subscription": async (app, outputs) => {
    const bus = resourceOf(app, outputs, "AWS::Events::EventBus", "Orders/Resource");
    const counts = resourceOf(app, outputs, "AWS::DynamoDB::Table", "OrderCounts/Resource");
    const customerId = uniqueId("customer");
    const event = createEvent({
      type: "OrderPlaced",
      schemaVersion: "1.0",
      source: "shop.checkout",
      data: { orderId: uniqueId("order"), customerId },
    });
    const events = new EventBridgeClient(config);
    const put = (e: typeof event) =>
      events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: bus,
              Source: "shop.checkout",
              DetailType: "OrderPlaced",
              Detail: JSON.stringify(e),
            },
          ],
        }),
      );
    await put(event);
    await waitFor(() => getItem(counts, { customerId }), { what: "the order count" });
    // The same event published again (the outbox is at least once) must count once. A sentinel
    // event after it, and the queue drained, show the consumer got past the duplicate (its log
    // lines are no proof on MiniStack: docs/emulator-matrix.md).
    await put(event);
    const sentinel = uniqueId("sentinel");
    await put(
      createEvent({
        type: "OrderPlaced",
        schemaVersion: "1.0",
        source: "shop.checkout",
        data: { orderId: uniqueId("order"), customerId: sentinel },
      }),
    );
    await waitFor(() => getItem(counts, { customerId: sentinel }), { what: "the sentinel" });
    const queue = resourceOf(app, outputs, "AWS::SQS::Queue", "OrderCounter/Queue/Queue/Resource");
    await waitFor(
      async () => {
        const { visible, inFlight, delayed } = await queueCounts(queue);
        return visible + inFlight + delayed === 0;
      },
      { what: "the subscription's queue drained" },
    );
    expect(await getItem(counts, { customerId })).toMatchObject({ orders: 1 });
  },
};

const smoke = Object.entries(catalog.constructs)
  .filter(([, entry]) => entry.smoke)
  .map(([construct]) => construct);

describe.concurrent("copied constructs deployed to the emulator", () => {
  it("checks every construct the catalog marks for a smoke check", () => {
    expect(smoke.sort()).toEqual(Object.keys(smokeChecks).sort());
  });

  it.for(smoke)("%s: one message in, one effect out", async (construct) => {
    const app = await createScratchApp(root, construct, "commonjs", "deploy");
    const outputs = await deploy(app);
    await (smokeChecks[construct] as (typeof smokeChecks)[string])(app, outputs);
  });
});
