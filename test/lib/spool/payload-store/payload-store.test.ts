import { Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import {
  PAYLOAD_BUCKET_ENV,
  PayloadStore,
  type PayloadStoreProps,
} from "../../../../lib/spool/payload-store/index.js";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import { expectRefusal } from "../../../helpers/errors.js";
import { templateApp } from "../../../helpers/template-app.js";

function synth(props?: (stack: Stack) => PayloadStoreProps) {
  const stack = new Stack(templateApp(), "Test", {
    env: { account: "111111111111", region: "us-east-1" },
  });
  const store = new PayloadStore(stack, "Payloads", props?.(stack));
  const role = (id: string) =>
    new Role(stack, id, { assumedBy: new ServicePrincipal("lambda.amazonaws.com") });
  return { stack, store, role };
}

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

function statementsOf(stack: Stack, roleId: string): Statement[] {
  const template = Template.fromStack(stack);
  return Object.entries(template.findResources("AWS::IAM::Policy"))
    .filter(([id]) => id.startsWith(roleId))
    .flatMap(
      ([, policy]) =>
        (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties
          .PolicyDocument.Statement,
    );
}

const expirationDays = (stack: Stack) =>
  (
    Object.values(Template.fromStack(stack).findResources("AWS::S3::Bucket"))[0] as {
      Properties: { LifecycleConfiguration: { Rules: { ExpirationInDays: number }[] } };
    }
  ).Properties.LifecycleConfiguration.Rules[0]?.ExpirationInDays;

describe("PayloadStore", () => {
  it("is one private, SSE-S3, TLS-only bucket whose objects expire, kept on delete but not after a failed create", () => {
    const { stack } = synth();
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::S3::Bucket", 1);
    template.hasResource("AWS::S3::Bucket", {
      DeletionPolicy: "RetainExceptOnCreate",
      UpdateReplacePolicy: "Retain",
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: "expire-payloads",
              Status: "Enabled",
              ExpirationInDays: 35,
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
          ],
        },
      },
    });
    const policy = JSON.stringify(template.findResources("AWS::S3::BucketPolicy"));
    expect(policy).toContain('"aws:SecureTransport":"false"');
    expect(policy).toContain('"s3:TlsVersion":1.2');
    expect(PayloadStore.BUCKET_ENV).toBe(PAYLOAD_BUCKET_ENV);
  });

  it("outlives the longest queue + DLQ retention of the queues it serves, plus the replay margin", () => {
    const { stack } = synth((s) => ({
      queues: [
        new ReliableQueue(s, "Orders"),
        new ReliableQueue(s, "Slow", {
          retentionPeriod: Duration.days(7),
          deadLetterRetentionPeriod: Duration.days(14),
        }),
      ],
    }));
    expect(expirationDays(stack)).toBe(7 + 14 + 7);
    const { stack: short } = synth((s) => ({
      queues: [new ReliableQueue(s, "Orders")],
      replayMargin: Duration.hours(1),
    }));
    expect(expirationDays(short)).toBe(4 + 14 + 1);
  });

  it("takes an explicit expiration longer than its queues keep messages", () => {
    const { stack } = synth((s) => ({
      queues: [new ReliableQueue(s, "Orders")],
      expiration: Duration.days(90),
    }));
    expect(expirationDays(stack)).toBe(90);
  });

  it.each([
    [
      "an expiration the queues outlast",
      (s: Stack) => ({ queues: [new ReliableQueue(s, "Orders")], expiration: Duration.days(18) }),
      "expiration must be longer than the longest retentionPeriod + deadLetterRetentionPeriod of its queues (18 days), got 18 days",
    ],
    [
      "an expiration in hours",
      () => ({ expiration: Duration.hours(36 * 24 + 1) }),
      "expiration must be a whole number of days (S3 lifecycle), got 3114000 s",
    ],
  ])("refuses %s, naming the path, the prop and the value", (_what, props, message) => {
    expectRefusal(() => synth(props), "Test/Payloads", message);
  });

  it("grants a producer s3:PutObject on its objects, and a consumer GetObject plus ListBucket", () => {
    const { stack, store, role } = synth();
    store.grantWrite(role("Producer"));
    store.grantRead(role("Consumer"));
    const bucket = Object.keys(Template.fromStack(stack).findResources("AWS::S3::Bucket"))[0];
    const objects = { "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/*"]] };
    // Spool's own keys only: sha256/<hex of the body>.
    const spoolKeys = { "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/sha256/*"]] };
    expect(statementsOf(stack, "Producer")).toEqual([
      { Effect: "Allow", Action: "s3:PutObject", Resource: spoolKeys },
    ]);
    expect(statementsOf(stack, "Consumer")).toEqual([
      { Effect: "Allow", Action: "s3:GetObject", Resource: objects },
      { Effect: "Allow", Action: "s3:ListBucket", Resource: { "Fn::GetAtt": [bucket, "Arn"] } },
    ]);
  });

  it("with a KMS key: SSE-KMS with a bucket key, and the key in the grants", () => {
    const { stack, store, role } = synth((s) => ({ encryptionKey: new Key(s, "Key") }));
    store.grantWrite(role("Producer"));
    store.grantRead(role("Consumer"));
    Template.fromStack(stack).hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms" },
          },
        ],
      },
    });
    const actions = (roleId: string) =>
      statementsOf(stack, roleId).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions("Producer")).toContain("kms:GenerateDataKey");
    expect(actions("Consumer")).toContain("kms:Decrypt");
  });

  it.each([
    ["AwsSolutions", new AwsSolutionsChecks()],
    ["Serverless", new ServerlessChecks()],
  ])("leaves no unacknowledged %s finding, grants included", (_name, pack) => {
    const { stack, store, role } = synth();
    store.grantWrite(role("Producer"));
    store.grantRead(role("Consumer"));
    Template.fromStack(stack); // synthesis runs the aspects that record acknowledgments
    const findings = pack
      .validateScope(stack)
      .violations.map(
        (v) =>
          `${v.ruleName}: ${v.violatingResources.map((r) => r.locations?.join(" ") ?? r.resourceLogicalId).join(", ")}`,
      );
    expect(findings).toEqual([]);
  });
});
