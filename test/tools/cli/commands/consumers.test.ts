import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from "@aws-sdk/client-cloudformation";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
  type EventSourceMappingConfiguration,
  GetEventSourceMappingCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { renderStatus, statusReport } from "../../../../tools/cli/commands/status.js";
import { AwsClients, resolveTarget } from "../../../../tools/cli/lib/aws.js";
import type {
  ConsumerAudit,
  ConsumerChangeFinished,
  ConsumerChangeStarted,
} from "../../../../tools/cli/lib/change-audits.js";
import { changeConsumerState } from "../../../../tools/cli/lib/consumer-state.js";
import { findConsumer, loadConsumers } from "../../../../tools/cli/lib/consumers.js";
import { loadInventory } from "../../../../tools/cli/lib/stack.js";
import { OFFLINE, spool } from "../../../helpers/cli.js";

const account = "000000000000";
const queueUrl = (name: string) => `http://localhost:4566/${account}/${name}`;
const queueArn = (name: string) => `arn:aws:sqs:us-east-1:${account}:${name}`;
const functionArn = (name: string) => `arn:aws:lambda:us-east-1:${account}:function:${name}`;

const NOTIFICATIONS = "Spool-Messaging-Notifications";
const ORDERS = "Spool-Messaging-Orders.fifo";
const UUID = { notifications: "uuid-notifications", orders: "uuid-orders", stream: "uuid-stream" };

/** Each mapping as Lambda reports it; tests change `State`. */
let mappings: Record<string, EventSourceMappingConfiguration>;

let cfn: AwsClientStub<CloudFormationClient>;
let sqs: AwsClientStub<SQSClient>;
let lambda: AwsClientStub<LambdaClient>;
let db: AwsClientStub<DynamoDBDocumentClient>;
let sts: AwsClientStub<STSClient>;
let cw: AwsClientStub<CloudWatchClient>;

beforeEach(() => {
  mappings = {
    [UUID.notifications]: {
      UUID: UUID.notifications,
      EventSourceArn: queueArn(NOTIFICATIONS),
      FunctionArn: functionArn("notifications-fn"),
      State: "Enabled",
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
    },
    [UUID.orders]: {
      UUID: UUID.orders,
      EventSourceArn: queueArn(ORDERS),
      FunctionArn: functionArn("orders-fn"),
      State: "Enabled",
      BatchSize: 1,
    },
    // A stream mapping (the outbox publisher's) is not a queue consumer.
    [UUID.stream]: {
      UUID: UUID.stream,
      EventSourceArn: `arn:aws:dynamodb:us-east-1:${account}:table/outbox/stream/2026`,
      FunctionArn: functionArn("publisher-fn"),
      State: "Enabled",
    },
  };
  cfn = mockClient(CloudFormationClient);
  sqs = mockClient(SQSClient);
  lambda = mockClient(LambdaClient);
  db = mockClient(DynamoDBDocumentClient);
  sts = mockClient(STSClient);
  cw = mockClient(CloudWatchClient);
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: "Spool",
        CreationTime: new Date(),
        StackStatus: "CREATE_COMPLETE",
        Outputs: [{ OutputKey: "OperatorAuditTableName", OutputValue: "audit" }],
      },
    ],
  });
  const queues = [
    ["NotificationsQueue", NOTIFICATIONS, "Spool/Messaging/Notifications/Queue/Resource"],
    ["OrdersQueue", ORDERS, "Spool/Messaging/Orders/Queue/Resource"],
  ] as const;
  cfn.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      ...queues.map(([id, name]) => ({
        LogicalResourceId: id,
        PhysicalResourceId: queueUrl(name),
        ResourceType: "AWS::SQS::Queue",
        ResourceStatus: "CREATE_COMPLETE" as const,
        LastUpdatedTimestamp: new Date(),
      })),
      ...Object.values(UUID).map((uuid) => ({
        LogicalResourceId: `Mapping${uuid}`,
        PhysicalResourceId: uuid,
        ResourceType: "AWS::Lambda::EventSourceMapping",
        ResourceStatus: "CREATE_COMPLETE" as const,
        LastUpdatedTimestamp: new Date(),
      })),
    ],
  });
  cfn.on(GetTemplateCommand).resolves({
    TemplateBody: JSON.stringify({
      Resources: Object.fromEntries(
        queues.map(([id, , path]) => [
          id,
          { Type: "AWS::SQS::Queue", Metadata: { "aws:cdk:path": path } },
        ]),
      ),
    }),
  });
  sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
    const name = input.QueueUrl.split("/").pop() as string;
    return {
      Attributes: {
        QueueArn: queueArn(name),
        FifoQueue: String(name.endsWith(".fifo")),
        ApproximateNumberOfMessages: "50",
        ApproximateNumberOfMessagesNotVisible: "0",
        ApproximateNumberOfMessagesDelayed: "0",
      },
    };
  });
  lambda.on(GetEventSourceMappingCommand).callsFake((input: { UUID: string }) => {
    const mapping = mappings[input.UUID];
    if (!mapping) throw new Error(`no mapping ${input.UUID}`);
    return { ...mapping };
  });
  sts.on(GetCallerIdentityCommand).resolves({ Arn: "arn:aws:iam::000000000000:user/ops" });
  db.on(PutCommand).resolves({});
  db.on(UpdateCommand).resolves({});
  cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
});

afterEach(() => {
  for (const stub of [cfn, sqs, lambda, db, sts, cw]) stub.restore();
});

/** Lambda's answer to UpdateEventSourceMapping: the transition, then the state on the next read. */
function updatesGoThrough() {
  lambda.on(UpdateEventSourceMappingCommand).callsFake((input) => {
    const mapping = mappings[input.UUID] as EventSourceMappingConfiguration;
    const target = input.Enabled ? "Enabled" : "Disabled";
    mappings[input.UUID] = { ...mapping, State: target };
    return { ...mapping, State: input.Enabled ? "Enabling" : "Disabling" };
  });
}

describe("spool consumers list", () => {
  it("is in --help with pause, resume and history", async () => {
    const { code, out } = await spool("--help");
    expect(code).toBe(0);
    for (const usage of [
      "spool consumers list",
      "spool consumers pause <name>",
      "spool consumers resume <name>",
      "spool consumers history [name]",
      "spool consumers holds <name>",
    ]) {
      expect(out).toContain(usage);
    }
  });

  it("shows every SQS consumer by its queue's name, with mapping, state, batch size and max concurrency", async () => {
    mappings[UUID.orders] = { ...mappings[UUID.orders], State: "Disabled" };
    const { code, out, err } = await spool("consumers", "list");
    expect(code, err).toBe(0);
    expect(out).toMatch(
      /^consumer\s+queue\s+state\s+batch\s+max concurrency\s+function\s+mapping$/m,
    );
    expect(out).toMatch(
      /^notifications\s+Spool-Messaging-Notifications\s+Enabled\s+10\s+5\s+notifications-fn\s+uuid-notifications$/m,
    );
    expect(out).toMatch(
      /^orders\s+Spool-Messaging-Orders.fifo\s+Disabled\s+1\s+-\s+orders-fn\s+uuid-orders$/m,
    );
    expect(out).not.toContain("publisher-fn");

    const { json } = await spool("consumers", "list", "--json");
    expect(json).toEqual([
      expect.objectContaining({
        name: "notifications",
        queueName: NOTIFICATIONS,
        queueArn: queueArn(NOTIFICATIONS),
        functionName: "notifications-fn",
        uuid: UUID.notifications,
        state: "Enabled",
        batchSize: 10,
        maxConcurrency: 5,
      }),
      expect.objectContaining({ name: "orders", state: "Disabled" }),
    ]);
  });

  it("names each of several consumers of one queue by queue and function, and refuses the bare queue name", async () => {
    mappings.second = {
      ...mappings[UUID.notifications],
      UUID: "second",
      FunctionArn: functionArn("audit-fn:live"),
    };
    cfn.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: [
        {
          LogicalResourceId: "Q",
          PhysicalResourceId: queueUrl(NOTIFICATIONS),
          ResourceType: "AWS::SQS::Queue",
          ResourceStatus: "CREATE_COMPLETE",
          LastUpdatedTimestamp: new Date(),
        },
        ...[UUID.notifications, "second"].map((uuid) => ({
          LogicalResourceId: uuid,
          PhysicalResourceId: uuid,
          ResourceType: "AWS::Lambda::EventSourceMapping",
          ResourceStatus: "CREATE_COMPLETE" as const,
          LastUpdatedTimestamp: new Date(),
        })),
      ],
    });
    const clients = new AwsClients(resolveTarget({}, OFFLINE));
    const inventory = await loadInventory(clients, "Spool");
    const consumers = await loadConsumers(clients.lambda, inventory);
    // The queue has no construct path in this template: it is named by its SQS name.
    expect(consumers.map((c) => c.name)).toEqual([
      `${NOTIFICATIONS}@audit-fn`,
      `${NOTIFICATIONS}@notifications-fn`,
    ]);
    expect(findConsumer(consumers, "audit-fn", "Spool").uuid).toBe("second");
    expect(() => findConsumer(consumers, NOTIFICATIONS, "Spool")).toThrow(
      `"${NOTIFICATIONS}" names 2 consumers in stack Spool`,
    );
  });
});

describe("spool consumers pause / resume", () => {
  it("pause disables the mapping, waits for Disabled and records who, what, before and after", async () => {
    updatesGoThrough();
    const order: string[] = [];
    db.on(PutCommand).callsFake(() => order.push("audit started") && {});
    db.on(UpdateCommand).callsFake(() => order.push("audit finished") && {});
    lambda.on(UpdateEventSourceMappingCommand).callsFake((input) => {
      order.push("mapping updated");
      mappings[input.UUID] = { ...mappings[input.UUID], State: "Disabled" };
      return { State: "Disabling" };
    });
    const { code, out, err } = await spool("consumers", "pause", "notifications");
    expect(code, err).toBe(0);
    expect(
      lambda.commandCalls(UpdateEventSourceMappingCommand).map((c) => c.args[0].input),
    ).toEqual([{ UUID: UUID.notifications, Enabled: false }]);
    expect(out).toMatch(
      /^Paused consumer notifications: its event source mapping uuid-notifications is Disabled \(was Enabled\)/,
    );
    expect(out).toContain("Start it again: spool consumers resume notifications.");

    // Recorded before the mapping was touched, completed after.
    const put = db.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      TableName: "audit",
      ConditionExpression: "attribute_not_exists(pk)",
      Item: {
        pk: "consumer-changes",
        stack: "Spool",
        action: "pause",
        consumer: "notifications",
        queueArn: queueArn(NOTIFICATIONS),
        functionName: "notifications-fn",
        mappingUuid: UUID.notifications,
        before: "Enabled",
        requested: "Disabled",
        status: "running",
        operator: { principal: "arn:aws:iam::000000000000:user/ops" },
      },
    });
    expect(put?.Item?.sk).toBe(`${put?.Item?.startedAt}#${put?.Item?.changeId}`);
    expect(out).toContain(`Recorded as change ${put?.Item?.changeId}`);
    const update = db.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(update?.Key).toEqual({ pk: put?.Item?.pk, sk: put?.Item?.sk });
    expect(Object.values(update?.ExpressionAttributeValues ?? {})).toEqual(
      expect.arrayContaining(["completed", "Disabled"]),
    );
    expect(order).toEqual(["audit started", "mapping updated", "audit finished"]);
  });

  it("resume enables the mapping of a paused consumer, found by its queue's SQS name", async () => {
    mappings[UUID.notifications] = { ...mappings[UUID.notifications], State: "Disabled" };
    updatesGoThrough();
    const { code, json } = await spool("consumers", "resume", NOTIFICATIONS, "--json");
    expect(code).toBe(0);
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand)[0]?.args[0].input).toEqual({
      UUID: UUID.notifications,
      Enabled: true,
    });
    expect(json).toMatchObject({
      consumer: "notifications",
      action: "resume",
      outcome: "changed",
      before: "Disabled",
      after: "Enabled",
      changeId: expect.any(String),
    });
    expect(db.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
      action: "resume",
      before: "Disabled",
      requested: "Enabled",
    });
  });

  it.each([
    ["pause", "Disabled", "paused"],
    ["resume", "Enabled", "resumed"],
  ])(
    "%s of a consumer already %s says so, exits 0, changes and records nothing",
    async (action, state, done) => {
      mappings[UUID.notifications] = { ...mappings[UUID.notifications], State: state };
      const { code, out } = await spool("consumers", action, "notifications");
      expect(code).toBe(0);
      expect(out).toBe(
        `Consumer notifications is already ${done} (its event source mapping uuid-notifications is ${state}): nothing to do.\n`,
      );
      expect(lambda.commandCalls(UpdateEventSourceMappingCommand)).toHaveLength(0);
      expect(db.calls()).toHaveLength(0);
    },
  );

  it("--dry-run shows the change and makes none", async () => {
    const { code, out, json } = await spool("consumers", "pause", "notifications", "--dry-run");
    expect(code).toBe(0);
    expect(out).toBe(
      "Dry run: pause would take its event source mapping uuid-notifications of consumer notifications from Enabled to Disabled. Nothing was changed.\n",
    );
    expect(json).toBeUndefined();
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand)).toHaveLength(0);
    expect(db.calls()).toHaveLength(0);
  });

  it("an unknown consumer is a bad argument (exit 2) in one line naming the known ones", async () => {
    const { code, out, err } = await spool("consumers", "pause", "notificatons");
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toBe(
      'spool: no consumer "notificatons" in stack Spool; its consumers: notifications, orders\n',
    );
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand)).toHaveLength(0);
  });

  it.each([
    [["consumers", "pause"], /^spool: missing required argument 'name' \(see spool --help\)\n$/],
    [["consumers", "resume", "x", "--wait", "0"], /--wait must be an integer from 1 to 900/],
    [["consumers", "history", "--limit", "x"], /--limit must be an integer from 1 to 1000/],
  ])("refuses %j with exit code 2 before calling AWS", async (argv, message) => {
    const { code, err } = await spool(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(cfn.calls()).toHaveLength(0);
  });

  it("history lists the recorded changes, newest first", async () => {
    db.on(QueryCommand).resolves({
      Items: [
        {
          changeId: "c2",
          action: "resume",
          consumer: "notifications",
          operator: { principal: "arn:aws:iam::0:user/ops", localUser: "ana" },
          before: "Disabled",
          after: "Enabled",
          status: "completed",
          startedAt: "2026-12-06T10:05:00.000Z",
        },
      ],
    });
    const { code, out } = await spool("consumers", "history");
    expect(code).toBe(0);
    expect(db.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: "audit",
      ExpressionAttributeValues: { ":pk": "consumer-changes" },
      ScanIndexForward: false,
    });
    expect(out).toMatch(
      /2026-12-06T10:05:00.000Z\s+resume\s+notifications\s+arn:aws:iam::0:user\/ops \(ana\)\s+Disabled\s+Enabled\s+completed\s+c2/,
    );
  });
});

/** Records what a change wrote to the audit, in order. */
class RecordingAudit implements ConsumerAudit {
  readonly calls: (ConsumerChangeStarted | ConsumerChangeFinished)[] = [];
  async started(record: ConsumerChangeStarted) {
    this.calls.push(record);
  }
  async finished(_id: string, record: ConsumerChangeFinished) {
    this.calls.push(record);
  }
}

describe("waiting for the mapping's state", () => {
  const consumer = async () => {
    const clients = new AwsClients(resolveTarget({}, OFFLINE));
    const all = await loadConsumers(clients.lambda, await loadInventory(clients, "Spool"));
    return { clients, consumer: findConsumer(all, "notifications", "Spool") };
  };
  const deps = (clients: AwsClients, audit: ConsumerAudit) => ({
    lambda: clients.lambda,
    audit,
    operator: { principal: "p", localUser: "u" },
    stack: "Spool",
    signal: new AbortController().signal,
  });

  it("a mapping that never reports Disabled fails after the wait, with a clear line, recorded as timed-out", async () => {
    // Lambda accepts the update but the mapping stays Disabling.
    lambda.on(UpdateEventSourceMappingCommand).callsFake(() => {
      mappings[UUID.notifications] = { ...mappings[UUID.notifications], State: "Disabling" };
      return {};
    });
    const { clients, consumer: c } = await consumer();
    const audit = new RecordingAudit();
    await expect(
      changeConsumerState(
        { consumer: c, action: "pause", dryRun: false, waitSeconds: 0.05, pollMs: 5 },
        deps(clients, audit),
      ),
    ).rejects.toThrow(
      /^consumer notifications: its event source mapping uuid-notifications still reports Disabling after 0.05 s, not Disabled; Lambda may still get there \(spool consumers list\); recorded as change /,
    );
    expect(audit.calls.at(-1)).toMatchObject({ status: "timed-out", after: "Disabling" });
    expect(lambda.commandCalls(GetEventSourceMappingCommand).length).toBeGreaterThan(3);
  });

  it("joins a pause already under way without asking again, and waits for it", async () => {
    mappings[UUID.notifications] = { ...mappings[UUID.notifications], State: "Disabling" };
    let reads = 0;
    lambda.on(GetEventSourceMappingCommand).callsFake((input: { UUID: string }) => {
      reads++;
      return { ...mappings[input.UUID], State: reads > 4 ? "Disabled" : "Disabling" };
    });
    const { clients, consumer: c } = await consumer();
    const audit = new RecordingAudit();
    const outcome = await changeConsumerState(
      { consumer: c, action: "pause", dryRun: false, waitSeconds: 5, pollMs: 1 },
      deps(clients, audit),
    );
    expect(outcome).toMatchObject({ outcome: "joined", before: "Disabling", after: "Disabled" });
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand)).toHaveLength(0);
    expect(audit.calls).toEqual([]);
  });

  it("a refused update is recorded as failed and reported", async () => {
    lambda.on(UpdateEventSourceMappingCommand).rejects(new Error("ResourceInUseException"));
    const { clients, consumer: c } = await consumer();
    const audit = new RecordingAudit();
    await expect(
      changeConsumerState(
        { consumer: c, action: "pause", dryRun: false, waitSeconds: 5, pollMs: 1 },
        deps(clients, audit),
      ),
    ).rejects.toThrow("ResourceInUseException");
    expect(audit.calls.map((r) => ("status" in r ? r.status : "started"))).toEqual([
      "started",
      "failed",
    ]);
  });
});

describe("spool status and paused consumers", () => {
  it("marks a queue whose consumer is paused, and says what paused means", async () => {
    mappings[UUID.notifications] = { ...mappings[UUID.notifications], State: "Disabled" };
    mappings[UUID.orders] = { ...mappings[UUID.orders], State: "Enabling" };
    const clients = new AwsClients(resolveTarget({}, OFFLINE));
    const now = new Date();
    const report = await statusReport(clients, await loadInventory(clients, "Spool"), now);
    expect(report.consumersUnknown).toBeUndefined();
    expect(report.rows).toEqual([
      expect.objectContaining({
        queue: "notifications",
        paused: true,
        consumers: [{ name: "notifications", state: "Disabled" }],
      }),
      expect.objectContaining({ queue: "orders", paused: false }),
    ]);
    const text = renderStatus("Spool", report.rows, now, report.consumersUnknown);
    expect(text).toMatch(/^notifications \(paused\)\s+50\s/m);
    expect(text).toMatch(/^orders \(fifo, resuming\)\s+50\s/m);
    expect(text).toContain("paused: its consumer's event source mapping is disabled");
  });

  it("still shows the queues when Lambda cannot be read, and says the states are unknown", async () => {
    lambda.on(GetEventSourceMappingCommand).rejects(
      Object.assign(new Error("User is not authorized to perform lambda:GetEventSourceMapping"), {
        name: "AccessDeniedException",
      }),
    );
    const { code, out } = await spool("status");
    expect(code).toBe(0);
    expect(out).toMatch(/^notifications\s+50\s/m);
    expect(out).toContain(
      "consumers' states unknown (paused ones are not marked): User is not authorized to perform lambda:GetEventSourceMapping",
    );
  });
});

describe("spool consumers holds", () => {
  const holdItem = {
    id: "orders#group-hold#order-7",
    head: "m-2",
    heldAt: "2026-12-07T10:00:00.000Z",
    parked: 3,
    owed: new Set(["m-2", "m-3", "m-4", "m-5"]),
    applied: new Set(["m-0"]),
    v: 4,
  };
  beforeEach(() => {
    lambda.on(GetFunctionConfigurationCommand).callsFake((input: { FunctionName: string }) => ({
      Environment: {
        Variables:
          input.FunctionName === "orders-fn"
            ? {
                SPOOL_CONSUMER_NAME: "orders",
                SPOOL_IDEMPOTENCY_TABLE: "idem",
                SPOOL_HOLD_GROUP_ON_DEAD_LETTER: "true",
              }
            : { SPOOL_CONSUMER_NAME: "notifications" },
      },
    }));
    db.on(ScanCommand).resolves({ Items: [holdItem] });
    db.on(GetCommand).resolves({ Item: holdItem });
    db.on(DeleteCommand).resolves({});
  });

  it("lists a consumer's held groups from its idempotency table, by its key prefix", async () => {
    const { code, out, err } = await spool("consumers", "holds", "orders");
    expect(code, err).toBe(0);
    expect(out).toMatch(/^order-7\s+2026-12-07T10:00:00.000Z\s+m-2\s+3\s+4$/m);
    const scan = db.commandCalls(ScanCommand)[0]?.args[0].input;
    expect(scan).toMatchObject({
      TableName: "idem",
      ExpressionAttributeValues: { ":prefix": "orders#group-hold#" },
    });
    const { json } = await spool("consumers", "holds", "orders", "--json");
    expect(json).toEqual({
      consumer: "orders",
      enabled: true,
      holds: [
        {
          group: "order-7",
          head: "m-2",
          heldAt: "2026-12-07T10:00:00.000Z",
          parked: 3,
          outstanding: 4,
          version: 4,
        },
      ],
    });
  });

  it("--release deletes the hold as it was read (its version), recorded in the audit before and after", async () => {
    const { code, out, err } = await spool("consumers", "holds", "orders", "--release", "order-7");
    expect(code, err).toBe(0);
    expect(out).toContain("Released group order-7 of consumer orders");
    expect(db.commandCalls(DeleteCommand)[0]?.args[0].input).toMatchObject({
      TableName: "idem",
      Key: { id: "orders#group-hold#order-7" },
      ConditionExpression: "#v = :v",
      ExpressionAttributeValues: { ":v": 4 },
    });
    const started = db.commandCalls(PutCommand)[0]?.args[0].input;
    expect(started).toMatchObject({
      TableName: "audit",
      Item: {
        pk: "group-hold-releases",
        consumer: "orders",
        group: "order-7",
        head: "m-2",
        outstanding: 4,
        status: "running",
      },
    });
    expect(db.commandCalls(UpdateCommand)).toHaveLength(1); // the audit's outcome
  });

  it("--release --dry-run changes nothing", async () => {
    const { code, out } = await spool(
      "consumers",
      "holds",
      "orders",
      "--release",
      "order-7",
      "--dry-run",
    );
    expect(code).toBe(0);
    expect(out).toContain("Dry run");
    expect(db.commandCalls(DeleteCommand)).toHaveLength(0);
    expect(db.commandCalls(PutCommand)).toHaveLength(0);
  });

  it("a hold that moved on since it was read is left, and the command fails", async () => {
    db.on(DeleteCommand).rejects(
      Object.assign(new Error("The conditional request failed"), {
        name: "ConditionalCheckFailedException",
      }),
    );
    const { code, out } = await spool("consumers", "holds", "orders", "--release", "order-7");
    expect(code).toBe(1);
    expect(out).toContain("was not released (changed");
  });

  it("a group with no hold, or a consumer without an idempotency table, is a bad argument (exit 2)", async () => {
    db.on(GetCommand).resolves({});
    const missing = await spool("consumers", "holds", "orders", "--release", "order-9");
    expect(missing.code).toBe(2);
    expect(missing.err.trim()).toMatch(/consumer orders holds no group "order-9"$/);
    const tableless = await spool("consumers", "holds", "notifications");
    expect(tableless.code).toBe(2);
    expect(tableless.err.trim()).toMatch(
      /consumer notifications has no idempotency table, so it keeps no group holds$/,
    );
  });
});
