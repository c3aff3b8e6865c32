import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type StackStatus,
} from "@aws-sdk/client-cloudformation";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queueStatus, renderStatus } from "../../../tools/cli/commands/status.js";
import { AwsClients, clientConfig, resolveTarget } from "../../../tools/cli/lib/aws.js";
import { describeError, SpoolCliError } from "../../../tools/cli/lib/errors.js";
import { findQueue, loadInventory, queueEntityPath } from "../../../tools/cli/lib/stack.js";
import { spool } from "../../helpers/cli.js";

describe("spool argument parsing", () => {
  it("lists every command in --help", async () => {
    const { code, out } = await spool("--help");
    expect(code).toBe(0);
    for (const usage of [
      "spool status",
      "spool dlq list <queue>",
      "spool dlq show <queue> <id>",
      "spool dlq replay <queue>",
      "spool dlq history [queue|replay-id]",
      "--stack <name>",
      "--json",
    ]) {
      expect(out).toContain(usage);
    }
  });

  it("lists the jobs, schedules, backfill and runs commands in --help", async () => {
    const { code, out } = await spool("--help");
    expect(code).toBe(0);
    for (const usage of [
      "spool jobs show <id>",
      "spool jobs list",
      "spool schedules list",
      "spool schedules cancel <task-key>",
      "spool backfill <job>",
      "spool runs <job>",
    ]) {
      expect(out).toContain(usage);
    }
  });

  it.each([
    [["frobnicate"], /^spool: unknown command 'frobnicate' \(see spool --help\)\n$/],
    [["dlq", "replay"], /^spool: missing required argument 'queue' \(see spool --help\)\n$/],
    [["dlq", "replay", "orders", "--rate", "fast"], /--rate must be a positive number/],
    [
      ["dlq", "replay", "orders", "--limit", "0"],
      /--limit must be an integer from 1 to 1000000, got "0"/,
    ],
    [["dlq", "list", "orders", "--hold", "x"], /--hold must be an integer from 1 to 43200/],
    [["status", "--watch", "0"], /refresh interval must be 1–3600 seconds, got "0"/],
    [["--bogus"], /^spool: unknown option '--bogus' \(see spool --help\)\n$/],
    // commander adds a suggestion on a line of its own; it must stay on the one line.
    [["--verison"], /^spool: unknown option '--verison' \(Did you mean --version\?\) \(see/],
    [["dlq", "frobnicate"], /^spool: unknown command 'frobnicate'/],
  ])("refuses %j in one line with exit code 2 (a bad argument)", async (argv, message) => {
    const { code, err, out } = await spool(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(out).toBe("");
  });

  it("prints its version with --version and exits 0", async () => {
    const { code, out } = await spool("--version");
    expect(code).toBe(0);
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("shows the global options in every subcommand's help", async () => {
    const { code, out } = await spool("dlq", "replay", "--help");
    expect(code).toBe(0);
    for (const option of ["--json", "--stack <name>", "--region <region>"]) {
      expect(out).toContain(option);
    }
  });

  it("checks a --where expression before touching AWS (usage error, exit 2)", async () => {
    const { code, err } = await spool("dlq", "replay", "orders", "--where", "order.[");
    expect(code).toBe(2);
    expect(err).toMatch(/^spool: --where is not a valid JMESPath expression/);
  });

  it.each([
    [
      ["--reason", "retries_exhausted"],
      /^spool: --reason must be one of .*\(did you mean "retries-exhausted"\?\)\n$/,
    ],
    [
      ["--error-code", "NO_SUCH_CODE"],
      /^spool: --error-code "NO_SUCH_CODE" is not a known error code/,
    ],
  ])("refuses %j before touching AWS, in one line (usage error, exit 2)", async (args, message) => {
    const { code, err, out } = await spool("dlq", "replay", "orders", ...args);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(out).toBe("");
  });

  it("says what to do when the emulator is not running", async () => {
    const { code, err } = await spool("status");
    expect(code).toBe(1);
    expect(err).toBe(
      "spool: cannot reach http://127.0.0.1:9 (ECONNREFUSED): is the emulator running? (npm run emulator:start)\n",
    );
  });
});

describe("AWS target", () => {
  it("uses the emulator with test credentials when AWS_ENDPOINT_URL is loopback", () => {
    const target = resolveTarget({}, { AWS_ENDPOINT_URL: "http://127.0.0.1:4574/" });
    expect(target).toEqual({ endpoint: "http://127.0.0.1:4574", region: "us-east-1", local: true });
    expect(clientConfig(target)).toMatchObject({
      endpoint: "http://127.0.0.1:4574",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
  });

  it("uses the normal credential chain and region otherwise", () => {
    const target = resolveTarget({ region: "eu-west-1" }, { AWS_REGION: "us-west-2" });
    expect(target).toEqual({ endpoint: undefined, region: "eu-west-1", local: false });
    expect(clientConfig(target)).toEqual({ region: "eu-west-1" });
    expect(resolveTarget({}, {}).region).toBeUndefined();
  });

  it("turns AWS failures into one actionable line", () => {
    const where = { endpoint: undefined, region: "eu-west-1", stack: "Spool" };
    expect(
      describeError(
        Object.assign(new Error("Stack with id Spool does not exist"), { name: "ValidationError" }),
        where,
      ),
    ).toBe("stack Spool not found at AWS eu-west-1: deploy it first, or pass --stack <name>");
    expect(
      describeError(
        Object.assign(new Error("Could not load credentials from any providers"), {
          name: "CredentialsProviderError",
        }),
        where,
      ),
    ).toMatch(/^no AWS credentials/);
    expect(describeError(new SpoolCliError("plain"), where)).toBe("plain");
  });
});

let cfn: AwsClientStub<CloudFormationClient>;
let sqs: AwsClientStub<SQSClient>;
let cw: AwsClientStub<CloudWatchClient>;
const url = (name: string) => `http://localhost:4566/000000000000/${name}`;
const arn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;
const queues: Record<string, Record<string, string>> = {
  "Spool-Orders.fifo": {
    QueueArn: arn("Spool-Orders.fifo"),
    FifoQueue: "true",
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: arn("Spool-Orders-dlq.fifo"),
      maxReceiveCount: 5,
    }),
  },
  "Spool-Orders-dlq.fifo": { QueueArn: arn("Spool-Orders-dlq.fifo"), FifoQueue: "true" },
  "Spool-Lab-Orders": {
    QueueArn: arn("Spool-Lab-Orders"),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: arn("Spool-Lab-Orders-dlq"),
      maxReceiveCount: "2",
    }),
  },
  "Spool-Lab-Orders-dlq": { QueueArn: arn("Spool-Lab-Orders-dlq") },
  "handmade-queue": { QueueArn: arn("handmade-queue") },
};

describe("stack inventory", () => {
  afterEach(() => {
    cfn.restore();
    sqs.restore();
    cw.restore();
  });

  beforeEach(() => {
    cfn = mockClient(CloudFormationClient);
    sqs = mockClient(SQSClient);
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
    const resources = [
      ["OrdersQueue", "Spool-Orders.fifo", "Spool/Messaging/Orders/Queue/Resource"],
      ["OrdersDlq", "Spool-Orders-dlq.fifo", "Spool/Messaging/Orders/DeadLetterQueue/Resource"],
      ["LabQueue", "Spool-Lab-Orders", "Spool/Lab/Orders/Queue/Resource"],
      ["LabDlq", "Spool-Lab-Orders-dlq", "Spool/Lab/Orders/DeadLetterQueue/Resource"],
      ["Handmade", "handmade-queue", undefined],
    ] as const;
    cfn.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: resources.map(([id, name]) => ({
        LogicalResourceId: id,
        PhysicalResourceId: url(name),
        ResourceType: "AWS::SQS::Queue",
        ResourceStatus: "CREATE_COMPLETE",
        LastUpdatedTimestamp: new Date(),
      })),
    });
    cfn.on(GetTemplateCommand).resolves({
      TemplateBody: JSON.stringify({
        Resources: Object.fromEntries(
          resources.map(([id, , path]) => [
            id,
            { Type: "AWS::SQS::Queue", ...(path ? { Metadata: { "aws:cdk:path": path } } : {}) },
          ]),
        ),
      }),
    });
    sqs
      .on(GetQueueAttributesCommand)
      .callsFake((input: { QueueUrl: string; AttributeNames: string[] }) => {
        const name = input.QueueUrl.split("/").pop() as string;
        const counts: Record<string, [number, number, number]> = {
          "Spool-Orders.fifo": [120, 3, 0],
          "Spool-Orders-dlq.fifo": [2, 1, 0],
          "Spool-Lab-Orders": [4, 0, 1],
        };
        const [v, f, d] = counts[name] ?? [0, 0, 0];
        // As SQS does: only the attributes asked for.
        const all: Record<string, string> = {
          ...queues[name],
          ApproximateNumberOfMessages: String(v),
          ApproximateNumberOfMessagesNotVisible: String(f),
          ApproximateNumberOfMessagesDelayed: String(d),
        };
        return {
          Attributes: Object.fromEntries(
            Object.entries(all).filter(([k]) => input.AttributeNames.includes(k)),
          ),
        };
      });
  });

  const clients = () =>
    new AwsClients(resolveTarget({}, { AWS_ENDPOINT_URL: "http://127.0.0.1:4566" }));

  it("names queues after their constructs and maps each DLQ through the RedrivePolicy", async () => {
    const inventory = await loadInventory(clients(), "Spool");
    expect(
      inventory.queues.map((q) => [
        q.name,
        q.queueName,
        q.deadLetterQueue?.queueName,
        q.maxReceiveCount,
      ]),
    ).toEqual([
      ["handmade-queue", "handmade-queue", undefined, undefined],
      ["lab/orders", "Spool-Lab-Orders", "Spool-Lab-Orders-dlq", 2],
      ["messaging/orders", "Spool-Orders.fifo", "Spool-Orders-dlq.fifo", 5],
    ]);
    expect(inventory.outputs.OperatorAuditTableName).toBe("audit");
    expect(findQueue(inventory, "Spool-Orders-dlq.fifo").name).toBe("messaging/orders");
    expect(findQueue(inventory, url("Spool-Lab-Orders")).name).toBe("lab/orders");
    expect(() => findQueue(inventory, "orders")).toThrow(
      'no queue "orders" in stack Spool; its queues: handmade-queue, lab/orders, messaging/orders',
    );
    expect(queueEntityPath("Spool", "Spool/Messaging/Orders/Queue/Resource")).toBe(
      "Messaging/Orders",
    );
  });

  it("reads the template once per stack version when given a cache dir, again after a deploy", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "spool-cache-"));
    try {
      const stack = (status: StackStatus, updated: string) =>
        cfn.on(DescribeStacksCommand).resolves({
          Stacks: [
            {
              StackName: "Spool",
              StackId: "arn:aws:cloudformation:us-east-1:000000000000:stack/Spool/1234",
              CreationTime: new Date("2026-12-01T00:00:00Z"),
              LastUpdatedTime: new Date(updated),
              StackStatus: status,
            },
          ],
        });
      const names = async () =>
        (await loadInventory(clients(), "Spool", { cacheDir })).queues.map((q) => q.name);
      const expected = ["handmade-queue", "lab/orders", "messaging/orders"];

      stack("UPDATE_COMPLETE", "2026-12-06T10:00:00Z");
      expect(await names()).toEqual(expected);
      expect(await names()).toEqual(expected);
      // The second command named the queues from the kept facts, without the template.
      expect(cfn.commandCalls(GetTemplateCommand)).toHaveLength(1);

      // A deploy changes LastUpdatedTime: the kept facts belong to the old version.
      stack("UPDATE_COMPLETE", "2026-12-06T11:00:00Z");
      expect(await names()).toEqual(expected);
      expect(cfn.commandCalls(GetTemplateCommand)).toHaveLength(2);

      // Mid-update the template may still change: read every time, never kept.
      stack("UPDATE_IN_PROGRESS", "2026-12-06T12:00:00Z");
      await names();
      await names();
      expect(cfn.commandCalls(GetTemplateCommand)).toHaveLength(4);
      expect((await readdir(cacheDir)).filter((n) => n.endsWith(".json"))).toHaveLength(2);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it("keeps a PriorityLanes group's queues together, highest lane first, labelled by group", async () => {
    const laned = [
      ["Zeta", "Spool-Zeta", "Spool/Zeta/Queue/Resource", undefined],
      ["Bulk", "Spool-Exports-bulk", "Spool/Lanes/exports-bulk/Queue/Resource", ["bulk", 1]],
      ["Alpha", "Spool-Alpha", "Spool/Alpha/Queue/Resource", undefined],
      [
        "Urgent",
        "Spool-Exports-urgent",
        "Spool/Lanes/exports-urgent/Queue/Resource",
        ["urgent", 0],
      ],
    ] as const;
    cfn.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: laned.map(([id, name]) => ({
        LogicalResourceId: id,
        PhysicalResourceId: url(name),
        ResourceType: "AWS::SQS::Queue",
        ResourceStatus: "CREATE_COMPLETE",
        LastUpdatedTimestamp: new Date(),
      })),
    });
    cfn.on(GetTemplateCommand).resolves({
      TemplateBody: JSON.stringify({
        Resources: Object.fromEntries(
          laned.map(([id, , path, lane]) => [
            id,
            {
              Type: "AWS::SQS::Queue",
              Metadata: {
                "aws:cdk:path": path,
                ...(lane
                  ? { "spool:lane": { group: "exports", lane: lane[0], rank: lane[1] } }
                  : {}),
              },
            },
          ]),
        ),
      }),
    });
    sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({
      Attributes: { QueueArn: arn(input.QueueUrl.split("/").pop() as string) },
    }));
    const inventory = await loadInventory(clients(), "Spool");
    expect(inventory.queues.map((q) => [q.name, q.lane?.lane])).toEqual([
      ["alpha", undefined],
      ["exports-urgent", "urgent"],
      ["exports-bulk", "bulk"],
      ["zeta", undefined],
    ]);
    const row = (queue: string, lane?: string) => ({
      queue,
      ...(lane ? { lanes: "exports", lane } : {}),
      queueName: queue,
      fifo: false,
      visible: 0,
      inFlight: 0,
      delayed: 0,
      oldestAgeSeconds: 1,
      deadLetters: 0,
      processedPerSecond: 0,
      secondsToDrain: 0,
      stalled: false,
      consumers: [],
      paused: false,
    });
    const text = renderStatus("Spool", [row("alpha"), row("exports-urgent", "urgent")], new Date());
    expect(text).toMatch(/^exports \[urgent\]\s+0/m);
    expect(text).toMatch(/^alpha\s+0/m);
  });

  it("reports status from SQS counts and CloudWatch's age and rate, saying n/a without data", async () => {
    cw.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string }[] }) => ({
      MetricDataResults: input.MetricDataQueries.map((q) => ({
        Id: q.Id,
        // Queue 1 (lab/orders): nothing processed; queue 2 (messaging/orders): 30 a minute.
        Values:
          (
            { age1: [40, 30], deleted1: [0, 0], age2: [300], deleted2: [30, 30] } as Record<
              string,
              number[]
            >
          )[q.Id] ?? [],
      })),
    }));
    const c = clients();
    const now = new Date();
    const inventory = await loadInventory(c, "Spool");
    const reads = sqs.commandCalls(GetQueueAttributesCommand).length;
    const rows = await queueStatus(c, inventory, now);
    // The counts came with the inventory's one read of each queue: status read none again.
    expect(sqs.commandCalls(GetQueueAttributesCommand)).toHaveLength(reads);
    expect(rows).toEqual([
      expect.objectContaining({
        queue: "handmade-queue",
        deadLetters: null,
        oldestAgeSeconds: null,
        processedPerSecond: null,
      }),
      expect.objectContaining({
        queue: "lab/orders",
        visible: 4,
        delayed: 1,
        deadLetters: 0,
        oldestAgeSeconds: 40,
        processedPerSecond: 0,
        stalled: true,
        secondsToDrain: null,
      }),
      expect.objectContaining({
        queue: "messaging/orders",
        visible: 120,
        inFlight: 3,
        deadLetters: 3,
        oldestAgeSeconds: 300,
        processedPerSecond: 0.5,
        secondsToDrain: 240,
      }),
    ]);
    const text = renderStatus("Spool", rows, now);
    expect(text).toMatch(/messaging\/orders \(fifo\)\s+120\s+3\s+0\s+5 min\s+3\s+0\.50\/s\s+4 min/);
    expect(text).toMatch(/lab\/orders\s+4\s+0\s+1\s+40 s\s+0\s+0\/s\s+stalled/);
    expect(text).toContain("n/a: CloudWatch has no SQS metrics");
  });
});
