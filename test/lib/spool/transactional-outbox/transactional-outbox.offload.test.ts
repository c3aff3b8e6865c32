import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { EventBus } from "aws-cdk-lib/aws-events";
import { Key } from "aws-cdk-lib/aws-kms";
import { describe, expect, it } from "vitest";
import { PayloadStore } from "../../../../lib/spool/payload-store/index.js";
import {
  TransactionalOutbox,
  type TransactionalOutboxProps,
} from "../../../../lib/spool/transactional-outbox/index.js";
import { expectRefusal } from "../../../helpers/errors.js";

/** A stack whose functions are not bundled: these tests read roles and environments only. */
function stackWithStore(encrypted = false) {
  const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
  const eventBus = new EventBus(stack, "Bus");
  const store = new PayloadStore(stack, "Payloads", {
    ...(encrypted ? { encryptionKey: new Key(stack, "Key") } : {}),
  });
  return { stack, eventBus, store };
}

function publisherStatements(stack: Stack, outbox: TransactionalOutbox) {
  const role = stack.getLogicalId(outbox.publisher.role?.node.defaultChild as never);
  return Object.values(Template.fromStack(stack).findResources("AWS::IAM::Policy"))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
    .flatMap(
      (p) =>
        p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
}

const actionsOf = (statements: { Action: string | string[] }[]) =>
  statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

describe("TransactionalOutbox with a payloadStore", () => {
  it("hands the publisher the bucket and threshold, and s3:PutObject on the store's objects only", () => {
    const { stack, eventBus, store } = stackWithStore();
    const outbox = new TransactionalOutbox(stack, "Outbox", { eventBus, payloadStore: store });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          SPOOL_PAYLOAD_BUCKET: {
            Ref: stack.getLogicalId(store.bucket.node.defaultChild as never),
          },
          SPOOL_OFFLOAD_THRESHOLD_BYTES: "245760",
        }),
      },
    });
    const statements = publisherStatements(stack, outbox);
    const bucket = stack.getLogicalId(store.bucket.node.defaultChild as never);
    expect(statements).toContainEqual({
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: { "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/sha256/*"]] },
    });
    const actions = actionsOf(statements);
    expect(actions.filter((a) => a.startsWith("s3:"))).toEqual(["s3:PutObject"]);
    expect(actions.some((a) => a.startsWith("kms:"))).toBe(false);
  });

  it("adds the key's GenerateDataKey for a KMS-encrypted store, and takes a threshold", () => {
    const { stack, eventBus, store } = stackWithStore(true);
    const outbox = new TransactionalOutbox(stack, "Outbox", {
      eventBus,
      payloadStore: store,
      offloadThresholdBytes: 0,
    });
    expect(actionsOf(publisherStatements(stack, outbox))).toContain("kms:GenerateDataKey");
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ SPOOL_OFFLOAD_THRESHOLD_BYTES: "0" }) },
    });
  });

  it("without a store, gives the publisher no bucket and no S3 access", () => {
    const { stack, eventBus } = stackWithStore();
    const outbox = new TransactionalOutbox(stack, "Outbox", { eventBus });
    expect(actionsOf(publisherStatements(stack, outbox)).some((a) => a.startsWith("s3:"))).toBe(
      false,
    );
    const fn = Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function"))[0];
    expect(fn?.Properties.Environment.Variables.SPOOL_PAYLOAD_BUCKET).toBeUndefined();
  });

  it.each<[(store: PayloadStore) => Partial<TransactionalOutboxProps>, string]>([
    [
      (store) => ({ payloadStore: store, offloadThresholdBytes: -1 }),
      "offloadThresholdBytes must be an integer from 0 to 999999, got -1",
    ],
    [
      (store) => ({ payloadStore: store, offloadThresholdBytes: 1_000_000 }),
      "offloadThresholdBytes must be an integer from 0 to 999999, got 1000000",
    ],
    [
      () => ({ offloadThresholdBytes: 100_000 }),
      "offloadThresholdBytes needs a payloadStore to offload to, got 100000 without one",
    ],
  ])("refuses %#, naming the construct, the prop and the value", (props, message) => {
    const { stack, eventBus, store } = stackWithStore();
    expectRefusal(
      () => new TransactionalOutbox(stack, "Outbox", { eventBus, ...props(store) }),
      "Stack/Outbox",
      message,
    );
  });
});
