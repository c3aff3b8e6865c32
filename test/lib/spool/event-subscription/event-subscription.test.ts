import { fileURLToPath } from "node:url";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AttributeType, Table } from "aws-cdk-lib/aws-dynamodb";
import { EventBus } from "aws-cdk-lib/aws-events";
import { describe, expect, it } from "vitest";
import {
  EventSubscription,
  type EventSubscriptionProps,
} from "../../../../lib/spool/event-subscription/index.js";
import { expectRefusal } from "../../../helpers/errors.js";

const entry = fileURLToPath(
  new URL("../../../helpers/fixtures/event-consumer-handler.ts", import.meta.url),
);

function build(props: Partial<EventSubscriptionProps> = {}) {
  const stack = new Stack(new App(), "Test", {
    env: { account: "111111111111", region: "eu-west-1" },
  });
  const eventBus = new EventBus(stack, "Bus", { eventBusName: "orders" });
  const idempotencyTable = new Table(stack, "Idempotency", {
    partitionKey: { name: "id", type: AttributeType.STRING },
  });
  const subscription = new EventSubscription(stack, "Sub", {
    eventBus,
    eventPattern: { source: ["spool.checkout"], detailType: ["OrderPlaced"] },
    entry,
    consumerName: "analytics",
    idempotencyTable,
    ...props,
  });
  return { stack, subscription, template: Template.fromStack(stack) };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }) {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

describe("EventSubscription", () => {
  it("routes the pattern to its queue with the envelope only, a target DLQ and a retry policy", () => {
    const { stack, subscription, template } = build();
    template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: Match.stringLikeRegexp("Bus") },
      EventPattern: { source: ["spool.checkout"], "detail-type": ["OrderPlaced"] },
      Targets: [
        {
          Arn: { "Fn::GetAtt": [logicalId(stack, subscription.queue.queue), "Arn"] },
          InputPath: "$.detail",
          DeadLetterConfig: {
            Arn: { "Fn::GetAtt": [logicalId(stack, subscription.deliveryDeadLetterQueue), "Arn"] },
          },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        },
      ],
    });
    expect(subscription.inbox).toBeUndefined();
    expect(subscription.forwarder).toBeUndefined();
  });

  it("lets EventBridge send to the queue and to the delivery DLQ, from this rule only", () => {
    const { stack, subscription, template } = build();
    const ruleArn = { "Fn::GetAtt": [logicalId(stack, subscription.rule), "Arn"] };
    for (const queue of [subscription.queue.queue, subscription.deliveryDeadLetterQueue]) {
      const policies = Object.values(template.findResources("AWS::SQS::QueuePolicy")) as {
        Properties: {
          Queues: unknown[];
          PolicyDocument: { Statement: Record<string, unknown>[] };
        };
      }[];
      const policy = policies.find(
        (p) =>
          JSON.stringify(p.Properties.Queues) ===
          JSON.stringify([{ Ref: logicalId(stack, queue) }]),
      );
      const allow = policy?.Properties.PolicyDocument.Statement.find(
        (s) => s.Effect === "Allow" && JSON.stringify(s.Principal).includes("events.amazonaws.com"),
      );
      expect([allow?.Action].flat()).toContain("sqs:SendMessage");
      expect(allow?.Condition).toEqual({ ArnEquals: { "aws:SourceArn": ruleArn } });
    }
  });

  it("keeps the delivery DLQ encrypted, TLS-only and 14 days", () => {
    const { stack, subscription, template } = build();
    const resource =
      template.toJSON().Resources[logicalId(stack, subscription.deliveryDeadLetterQueue)];
    expect(resource.Properties).toMatchObject({
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: logicalId(stack, subscription.deliveryDeadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  it("consumes its queue with partial batch responses and the consumer's name", () => {
    const { template } = build({ consumerTimeout: Duration.seconds(10) });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          SPOOL_CONSUMER_NAME: "analytics",
          SPOOL_IDEMPOTENCY_TABLE: Match.anyValue(),
        }),
      },
      Timeout: 10,
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      VisibilityTimeout: 60,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
  });

  it("with messageGroupIdPath: rule → standard inbox → forwarder → FIFO queue → consumer", () => {
    const { stack, subscription, template } = build({ messageGroupIdPath: "data.orderId" });
    const { inbox, forwarder, queue } = subscription;
    if (!inbox || !forwarder) throw new Error("expected an inbox and a forwarder");
    expect(queue.fifo).toBe(true);
    expect(inbox.fifo).toBe(false);
    template.hasResourceProperties("AWS::Events::Rule", {
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [logicalId(stack, inbox.queue), "Arn"] },
          InputPath: "$.detail",
        }),
      ],
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          SPOOL_CONSUMER_NAME: "analytics-forwarder",
          SPOOL_MESSAGE_GROUP_ID_PATH: "data.orderId",
          SPOOL_FORWARD_QUEUE_URL: { Ref: logicalId(stack, queue.queue) },
        }),
      },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: stack.getLogicalId(forwarder.function.role?.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["sqs:SendMessage"]),
            Resource: { "Fn::GetAtt": [logicalId(stack, queue.queue), "Arn"] },
          }),
        ]),
      },
    });
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
  });

  it.each<[Partial<EventSubscriptionProps>, string]>([
    [
      { eventPattern: {} },
      "eventPattern must match on at least one field (e.g. source or detailType), got {}",
    ],
    [
      { messageGroupIdPath: "data..orderId" },
      'messageGroupIdPath must be a dotted path into the event envelope such as "data.orderId", got "data..orderId"',
    ],
    [
      { deliveryMaxEventAge: Duration.seconds(30) },
      "deliveryMaxEventAge must be from 60 seconds to 24 hours, got 30 s",
    ],
    [
      { deliveryMaxEventAge: Duration.hours(25) },
      "deliveryMaxEventAge must be from 60 seconds to 24 hours, got 90000 s",
    ],
    [
      { deliveryRetryAttempts: 186 },
      "deliveryRetryAttempts must be an integer from 0 to 185, got 186",
    ],
    [
      { deliveryRetryAttempts: 1.5 },
      "deliveryRetryAttempts must be an integer from 0 to 185, got 1.5",
    ],
    [
      { consumerTimeout: Duration.minutes(16) },
      "consumerTimeout must be from 1 second to 15 minutes, got 960 s",
    ],
  ])("fails synthesis for %o", (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});

describe("EventSubscription validation names the construct", () => {
  it("of two subscriptions on a bus, names the one refused, its prop and the value", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    const eventBus = new EventBus(stack, "Bus");
    const eventPattern = { source: ["spool.checkout"] };
    new EventSubscription(stack, "Analytics", { eventBus, eventPattern, entry });
    expectRefusal(
      () =>
        new EventSubscription(stack, "Billing", {
          eventBus,
          eventPattern,
          entry,
          deliveryMaxEventAge: Duration.hours(25),
        }),
      "Stack/Billing",
      "deliveryMaxEventAge must be from 60 seconds to 24 hours, got 90000 s",
    );
  });
});
