import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from "@aws-sdk/client-cloudformation";
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spool } from "../../../helpers/cli.js";

/**
 * `spool dlq replay --to` and `spool dlq history <replay-id>`: what they refuse, in one line with
 * exit 2, before anything moves. The stack is mocked: a standard queue and a FIFO one, each with
 * its dead-letter queue, plus a queue outside the stack.
 */
const url = (name: string) => `http://localhost:4566/000000000000/${name}`;
const arn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;
const redrive = (dlq: string) =>
  JSON.stringify({ deadLetterTargetArn: arn(dlq), maxReceiveCount: 5 });
const queues: Record<string, Record<string, string>> = {
  "Spool-Lab": { QueueArn: arn("Spool-Lab"), RedrivePolicy: redrive("Spool-Lab-dlq") },
  "Spool-Lab-dlq": { QueueArn: arn("Spool-Lab-dlq") },
  "Spool-Orders.fifo": {
    QueueArn: arn("Spool-Orders.fifo"),
    FifoQueue: "true",
    RedrivePolicy: redrive("Spool-Orders-dlq.fifo"),
  },
  "Spool-Orders-dlq.fifo": { QueueArn: arn("Spool-Orders-dlq.fifo"), FifoQueue: "true" },
  "outside.fifo": { QueueArn: arn("outside.fifo"), FifoQueue: "true" },
};
const resources = [
  ["Lab", "Spool-Lab", "Spool/Lab/Queue/Resource"],
  ["LabDlq", "Spool-Lab-dlq", "Spool/Lab/DeadLetterQueue/Resource"],
  ["Orders", "Spool-Orders.fifo", "Spool/Orders/Queue/Resource"],
  ["OrdersDlq", "Spool-Orders-dlq.fifo", "Spool/Orders/DeadLetterQueue/Resource"],
] as const;

let cfn: AwsClientStub<CloudFormationClient>;
let sqs: AwsClientStub<SQSClient>;
let ddb: AwsClientStub<DynamoDBDocumentClient>;

beforeEach(() => {
  cfn = mockClient(CloudFormationClient);
  sqs = mockClient(SQSClient);
  ddb = mockClient(DynamoDBDocumentClient);
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
          { Type: "AWS::SQS::Queue", Metadata: { "aws:cdk:path": path } },
        ]),
      ),
    }),
  });
  sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
    const attributes = queues[input.QueueUrl.split("/").pop() as string];
    if (!attributes) {
      throw Object.assign(new Error("The specified queue does not exist."), {
        name: "QueueDoesNotExist",
      });
    }
    return { Attributes: attributes };
  });
  ddb.on(QueryCommand).resolves({ Items: [] });
});

afterEach(() => {
  cfn.restore();
  sqs.restore();
  ddb.restore();
});

async function refused(args: string[], message: RegExp) {
  const { code, err, out } = await spool("dlq", ...args);
  expect(err).toMatch(message);
  expect(err.trim().split("\n")).toHaveLength(1);
  expect(code).toBe(2);
  expect(out).toBe("");
  // Nothing was received from a DLQ, nothing sent anywhere.
  expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
}

describe("spool dlq replay --to", () => {
  it.each([
    [["replay", "lab", "--to", "orders"], /--to orders is a FIFO queue and lab is standard/],
    [["replay", "orders", "--to", "lab"], /--to lab is a standard queue and orders is FIFO/],
    [
      ["replay", "lab", "--to", url("outside.fifo")],
      /--to outside\.fifo is a FIFO queue and lab is standard/,
    ],
    [["replay", "lab", "--to", "Spool-Lab-dlq"], /--to Spool-Lab-dlq is a dead-letter queue/],
    [["replay", "lab", "--to", url("Spool-Orders-dlq.fifo")], /is a dead-letter queue/],
    [
      ["replay", "lab", "--to", "quarantine"],
      /--to quarantine: no queue of that name in stack Spool/,
    ],
    [["replay", "lab", "--to", url("gone")], /--to .*gone: no such queue \(QueueDoesNotExist\)/],
  ])("refuses %j in one line, exit 2, before moving anything", async (args, message) => {
    await refused(args, message);
  });

  it("is in the replay's help", async () => {
    const { out } = await spool("dlq", "replay", "--help");
    expect(out.replace(/\s+/g, " ")).toContain("--to <queue> send them to this queue instead");
  });
});

describe("spool dlq history <replay-id>", () => {
  it("refuses an id that is neither a queue nor a recorded replay, in one line, exit 2", async () => {
    await refused(
      ["history", "no-such-replay"],
      /^spool: "no-such-replay" is neither a queue of stack Spool nor a replay recorded in audit/,
    );
    // Looked up in the history partition by id.
    const [query] = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(query?.ExpressionAttributeValues).toEqual({ ":pk": "replays", ":id": "no-such-replay" });
  });

  it("refuses the id of a discard: its letters went nowhere", async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          replayId: "op-1",
          action: "discard",
          queue: "lab",
          sourceQueueUrl: url("Spool-Lab"),
          deadLetterQueueUrl: url("Spool-Lab-dlq"),
          startedAt: "2026-12-06T00:00:00.000Z",
        },
      ],
    });
    await refused(["history", "op-1"], /^spool: op-1 is a discard, not a replay/);
  });

  it("still lists the history of a queue by its name", async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          replayId: "r-1",
          queue: "lab",
          targetQueue: "quarantine",
          startedAt: "2026-12-06T00:00:00.000Z",
          moved: 3,
          status: "completed",
          filter: "all",
        },
      ],
    });
    const { code, out } = await spool("dlq", "history", "lab");
    expect(code).toBe(0);
    expect(out).toMatch(/replay\s+lab\s+quarantine/);
  });
});
