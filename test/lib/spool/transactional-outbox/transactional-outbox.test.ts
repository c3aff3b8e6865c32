import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { EventBus } from "aws-cdk-lib/aws-events";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import {
  TransactionalOutbox,
  type TransactionalOutboxProps,
} from "../../../../lib/spool/transactional-outbox/index.js";
import { expectRefusal } from "../../../helpers/errors.js";

function outboxIn(props: Partial<TransactionalOutboxProps> = {}) {
  const stack = new Stack(new App(), "Test", {
    env: { account: "111111111111", region: "eu-west-1" },
  });
  const eventBus = new EventBus(stack, "Bus", { eventBusName: "orders" });
  const outbox = new TransactionalOutbox(stack, "Outbox", { eventBus, ...props });
  return { stack, outbox };
}

function build(props: Partial<TransactionalOutboxProps> = {}) {
  const built = outboxIn(props);
  return { ...built, template: Template.fromStack(built.stack) };
}

const id = (stack: Stack, c: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(c.node.defaultChild as never);

describe("TransactionalOutbox", () => {
  // One synthesis for the default-settings assertions: bundling the publisher takes a moment.
  const { stack, outbox, template } = build();

  it("keeps events in a table with a NEW_IMAGE stream, TTL on published rows and PITR", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      StreamSpecification: { StreamViewType: "NEW_IMAGE" },
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "RetainExceptOnCreate",
      UpdateReplacePolicy: "Retain",
    });
  });

  it("publishes from the stream: INSERTs only, bisect, bounded retries and age, failures to a DLQ", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [id(stack, outbox.table), "StreamArn"] },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 21_600,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ["INSERT"] }) }] },
      DestinationConfig: {
        OnFailure: {
          Destination: { "Fn::GetAtt": [id(stack, outbox.deadLetterQueue), "Arn"] },
        },
      },
    });
  });

  it("gives the publisher exactly PutEvents on the bus, UpdateItem on the table, SendMessage on the DLQ", () => {
    const policy = Object.values(template.findResources("AWS::IAM::Policy"))[0] as {
      Properties: {
        PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
      };
    };
    const actions = policy.Properties.PolicyDocument.Statement.flatMap((s) =>
      Array.isArray(s.Action) ? s.Action : [s.Action],
    );
    expect(actions).toEqual(
      expect.arrayContaining(["events:PutEvents", "dynamodb:UpdateItem", "sqs:SendMessage"]),
    );
    expect(actions.some((a) => a.endsWith("*") && !a.startsWith("dynamodb:GetShardIterator"))).toBe(
      false,
    );
    expect(actions).not.toContain("dynamodb:PutItem");
    expect(actions).not.toContain("dynamodb:DeleteItem");
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp("Bus") },
          SPOOL_STREAM_FAILURE_MODE: "report",
          SPOOL_PUBLISHED_TTL_SECONDS: "604800",
          SPOOL_PUBLISH_ATTEMPTS: "3",
        }),
      },
      TracingConfig: { Mode: "Active" },
    });
  });

  it("grants producers PutItem on the outbox and nothing else", () => {
    const { stack, outbox } = outboxIn();
    const producer = new Role(stack, "Producer", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
    });
    outbox.grantWriteEvents(producer);
    Template.fromStack(stack).hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: stack.getLogicalId(producer.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: [
          {
            Action: "dynamodb:PutItem",
            Effect: "Allow",
            Resource: Match.arrayWith([{ "Fn::GetAtt": [id(stack, outbox.table), "Arn"] }]),
          },
        ],
      },
    });
  });

  it("fails the whole batch instead of reporting items when told partial responses are not honoured", () => {
    const { template: t } = build({ reportBatchItemFailures: false });
    const mapping = Object.values(t.findResources("AWS::Lambda::EventSourceMapping"))[0] as {
      Properties: Record<string, unknown>;
    };
    expect(mapping.Properties.FunctionResponseTypes).toBeUndefined();
    t.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ SPOOL_STREAM_FAILURE_MODE: "throw" }) },
    });
  });

  it.each<[Partial<TransactionalOutboxProps>, string]>([
    [{ batchSize: 0 }, "batchSize must be an integer from 1 to 10000, got 0"],
    [{ retryAttempts: -1 }, "retryAttempts must be an integer from 0 to 10000, got -1"],
    [{ publishAttempts: 11 }, "publishAttempts must be an integer from 1 to 10, got 11"],
    [
      { maxRecordAge: Duration.seconds(59) },
      "maxRecordAge must be from 60 seconds to 7 days, got 59 s",
    ],
    [
      { maxRecordAge: Duration.days(8) },
      "maxRecordAge must be from 60 seconds to 7 days, got 691200 s",
    ],
    [
      { publishedRetention: Duration.seconds(10) },
      "publishedRetention must be at least 60 seconds, got 10 s",
    ],
  ])("fails synthesis for %o", (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});

describe("TransactionalOutbox validation names the construct", () => {
  it("of two outboxes, names the one refused, its prop and the value", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    const eventBus = new EventBus(stack, "Bus");
    new TransactionalOutbox(stack, "Orders", { eventBus });
    expectRefusal(
      () => new TransactionalOutbox(stack, "Payments", { eventBus, publishAttempts: 11 }),
      "Stack/Payments",
      "publishAttempts must be an integer from 1 to 10, got 11",
    );
  });

  it.each([
    ["ab", '"ab"'],
    ["t".repeat(256), `"${"t".repeat(256)}"`],
    ["orders outbox", '"orders outbox"'],
  ])("refuses a tableName DynamoDB would refuse: %s", (tableName, shown) => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    const eventBus = new EventBus(stack, "Bus");
    expectRefusal(
      () => new TransactionalOutbox(stack, "Orders", { eventBus, tableName }),
      "Stack/Orders",
      `tableName must be 3–255 letters, digits, underscores, hyphens or dots, got ${shown}`,
    );
  });
});
