import { fileURLToPath } from "node:url";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { EventBus } from "aws-cdk-lib/aws-events";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import {
  EventSubscription,
  type EventSubscriptionProps,
} from "../../../../lib/spool/event-subscription/index.js";
import { PayloadStore } from "../../../../lib/spool/payload-store/index.js";

const entry = fileURLToPath(
  new URL("../../../helpers/fixtures/event-consumer-handler.ts", import.meta.url),
);

function build(props: Partial<EventSubscriptionProps> = {}) {
  const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
  const eventBus = new EventBus(stack, "Bus");
  const store = new PayloadStore(stack, "Payloads");
  const subscription = new EventSubscription(stack, "Sub", {
    eventBus,
    eventPattern: { detailType: ["OrderPlaced"] },
    entry,
    consumerName: "payments",
    payloadStore: store,
    ...props,
  });
  return { stack, store, subscription };
}

/** The S3 actions on a function's role, with the resource each names. */
function s3Grants(stack: Stack, fn: IFunction) {
  const role = stack.getLogicalId(fn.role?.node.defaultChild as never);
  return Object.values(Template.fromStack(stack).findResources("AWS::IAM::Policy"))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .filter((a) => a.startsWith("s3:"))
    .sort();
}

describe("EventSubscription with a payloadStore", () => {
  it("lets its consumer read the store (GetObject, ListBucket) and names the bucket, nothing more", () => {
    const { stack, store, subscription } = build();
    expect(s3Grants(stack, subscription.consumer.function)).toEqual([
      "s3:GetObject",
      "s3:ListBucket",
    ]);
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          SPOOL_CONSUMER_NAME: "payments",
          SPOOL_PAYLOAD_BUCKET: {
            Ref: stack.getLogicalId(store.bucket.node.defaultChild as never),
          },
        }),
      },
    });
  });

  it("with messageGroupIdPath, lets the forwarder read the store and write what it re-sends", () => {
    const { stack, subscription } = build({ messageGroupIdPath: "data.orderId" });
    expect(s3Grants(stack, subscription.consumer.function)).toEqual([
      "s3:GetObject",
      "s3:ListBucket",
    ]);
    expect(s3Grants(stack, subscription.forwarder?.function as IFunction)).toEqual([
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
    ]);
  });

  it("without one, grants no S3 access", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    const subscription = new EventSubscription(stack, "Sub", {
      eventBus: new EventBus(stack, "Bus"),
      eventPattern: { detailType: ["OrderPlaced"] },
      entry,
      messageGroupIdPath: "data.orderId",
    });
    expect(s3Grants(stack, subscription.consumer.function)).toEqual([]);
    expect(s3Grants(stack, subscription.forwarder?.function as IFunction)).toEqual([]);
  });

  it("says how long a pointer can wait in it, so a store's lifecycle outlives every copy", () => {
    const { subscription } = build({ deliveryMaxEventAge: Duration.hours(2) });
    // EventBridge's retries, then the queue's 4 days; then the longest DLQ (14 days).
    expect(subscription.retentionPeriod.toSeconds()).toBe(2 * 3_600 + 4 * 86_400);
    expect(subscription.deadLetterRetentionPeriod.toDays()).toBe(14);
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Other");
    const store = new PayloadStore(stack, "Payloads", { queues: [subscription] });
    // ceil(4 d 2 h + 14 d + 7 d margin) = 26 days.
    expect(store.expiration.toDays()).toBe(26);
  });
});
