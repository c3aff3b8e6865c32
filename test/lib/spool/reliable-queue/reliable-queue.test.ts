import { CfnParameter, Duration, Lazy, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { Key } from "aws-cdk-lib/aws-kms";
import { QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import {
  ReliableQueue,
  type ReliableQueueProps,
} from "../../../../lib/spool/reliable-queue/index.js";
import { SpoolValidationError } from "../../../../lib/spool/runtime/validation.js";
import { thrownBy } from "../../../helpers/errors.js";
import { templateApp } from "../../../helpers/template-app.js";

const ACCOUNT = "111111111111";
const REGION = "us-east-1";

function newStack(): Stack {
  return new Stack(templateApp(), "Test", { env: { account: ACCOUNT, region: REGION } });
}

function synth(props?: ReliableQueueProps) {
  const stack = newStack();
  const reliable = new ReliableQueue(stack, "Jobs", props);
  return { stack, reliable, template: Template.fromStack(stack) };
}

interface QueueResource {
  readonly logicalId: string;
  readonly properties: Record<string, unknown>;
}

/** The source queue is the one with a redrive policy; the DLQ is the other one. */
function sourceAndDeadLetter(template: Template): { source: QueueResource; dlq: QueueResource } {
  const all = Object.entries(template.findResources("AWS::SQS::Queue")).map(
    ([logicalId, resource]) => ({
      logicalId,
      properties: (resource as { Properties: Record<string, unknown> }).Properties,
    }),
  );
  expect(all).toHaveLength(2);
  const source = all.find((q) => q.properties.RedrivePolicy !== undefined);
  const dlq = all.find((q) => q.properties.RedrivePolicy === undefined);
  if (!source || !dlq) throw new Error("expected one source queue and one dead-letter queue");
  return { source, dlq };
}

/** Flattens an Fn::Join of strings and Refs into one string ("${Ref}" for refs). */
function joined(value: unknown): string {
  const join = (value as { "Fn::Join": [string, unknown[]] })["Fn::Join"];
  return join[1]
    .map((part) =>
      typeof part === "string" ? part : `\${${(part as { Ref: string }).Ref ?? "?"}}`,
    )
    .join(join[0]);
}

describe("ReliableQueue defaults", () => {
  const { template, reliable, stack } = synth();
  const { source, dlq } = sourceAndDeadLetter(template);

  it("creates a source queue whose redrive policy targets its own DLQ after 5 receives", () => {
    expect(source.properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [dlq.logicalId, "Arn"] },
      maxReceiveCount: 5,
    });
    expect(reliable.maxReceiveCount).toBe(5);
    expect(reliable.fifo).toBe(false);
  });

  it("keeps dead letters 14 days and source messages 4 days", () => {
    expect(dlq.properties.MessageRetentionPeriod).toBe(1_209_600);
    expect(source.properties.MessageRetentionPeriod).toBe(345_600);
  });

  it("encrypts both queues with SQS-managed SSE", () => {
    expect(source.properties.SqsManagedSseEnabled).toBe(true);
    expect(dlq.properties.SqsManagedSseEnabled).toBe(true);
    expect(source.properties.KmsMasterKeyId).toBeUndefined();
  });

  it("sets a 180 s visibility timeout (6x a 30 s consumer)", () => {
    expect(source.properties.VisibilityTimeout).toBe(180);
    expect(reliable.visibilityTimeout.toSeconds()).toBe(180);
  });

  it("is a standard queue pair without a delivery delay", () => {
    expect(source.properties.FifoQueue).toBeUndefined();
    expect(dlq.properties.FifoQueue).toBeUndefined();
    expect(source.properties.DelaySeconds).toBeUndefined();
  });

  it.each([
    ["source", () => source.logicalId],
    ["dead-letter", () => dlq.logicalId],
  ])("denies plain-HTTP access to the %s queue", (_name, logicalId) => {
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: logicalId() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "sqs:*",
            Principal: { AWS: "*" },
            Condition: { Bool: { "aws:SecureTransport": "false" } },
            Resource: { "Fn::GetAtt": [logicalId(), "Arn"] },
          }),
        ]),
      },
    });
  });

  it("allows redrive from exactly the source queue (byQueue, by the source's ARN)", () => {
    const policy = dlq.properties.RedriveAllowPolicy as {
      redrivePermission: string;
      sourceQueueArns: unknown[];
    };
    expect(policy.redrivePermission).toBe("byQueue");
    expect(policy.sourceQueueArns).toHaveLength(1);
    expect(joined(policy.sourceQueueArns[0])).toBe(
      `arn:\${AWS::Partition}:sqs:${REGION}:${ACCOUNT}:${String(source.properties.QueueName)}`,
    );
  });

  it("names the DLQ after the source with a -dlq suffix, both within 80 characters", () => {
    const sourceName = String(source.properties.QueueName);
    expect(dlq.properties.QueueName).toBe(`${sourceName}-dlq`);
    expect(sourceName).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(String(dlq.properties.QueueName).length).toBeLessThanOrEqual(80);
  });

  it("removes both queues with the stack", () => {
    template.hasResource("AWS::SQS::Queue", {
      Properties: { QueueName: source.properties.QueueName },
      DeletionPolicy: "Delete",
    });
    template.hasResource("AWS::SQS::Queue", {
      Properties: { QueueName: dlq.properties.QueueName },
      DeletionPolicy: "Delete",
    });
  });

  it("adds no FIFO info annotation to a standard queue", () => {
    Annotations.fromStack(stack).hasNoInfo("*", Match.stringLikeRegexp("MessageDeduplicationId"));
  });
});

describe("ReliableQueue FIFO", () => {
  it("makes both queues FIFO with .fifo names (source and -dlq.fifo)", () => {
    const { template, reliable, stack } = synth({ fifo: true });
    const { source, dlq } = sourceAndDeadLetter(template);
    expect(source.properties.FifoQueue).toBe(true);
    expect(dlq.properties.FifoQueue).toBe(true);
    const sourceName = String(source.properties.QueueName);
    expect(sourceName).toMatch(/\.fifo$/);
    expect(dlq.properties.QueueName).toBe(sourceName.replace(/\.fifo$/, "-dlq.fifo"));
    expect(String(dlq.properties.QueueName).length).toBeLessThanOrEqual(80);
    expect(reliable.fifo).toBe(true);
    // Without content-based deduplication, producers must send a deduplication id: say so.
    Annotations.fromStack(stack).hasInfo(
      "/Test/Jobs",
      Match.stringLikeRegexp("producers must send a MessageDeduplicationId"),
    );
  });

  it("turns on content-based deduplication on request", () => {
    const { template, stack } = synth({ fifo: true, contentBasedDeduplication: true });
    const { source, dlq } = sourceAndDeadLetter(template);
    expect(source.properties.ContentBasedDeduplication).toBe(true);
    expect(dlq.properties.ContentBasedDeduplication).toBe(true);
    Annotations.fromStack(stack).hasNoInfo("*", Match.stringLikeRegexp("MessageDeduplicationId"));
  });

  it("sets per-message-group deduplication and throughput for high-throughput FIFO", () => {
    const { template } = synth({ fifo: true, highThroughputFifo: true });
    const { source, dlq } = sourceAndDeadLetter(template);
    for (const queue of [source, dlq]) {
      expect(queue.properties.DeduplicationScope).toBe("messageGroup");
      expect(queue.properties.FifoThroughputLimit).toBe("perMessageGroupId");
    }
  });

  it("leaves deduplication scope and throughput limit unset without high throughput", () => {
    const { template } = synth({ fifo: true });
    const { source } = sourceAndDeadLetter(template);
    expect(source.properties.DeduplicationScope).toBeUndefined();
    expect(source.properties.FifoThroughputLimit).toBeUndefined();
  });

  it.each([
    ["orders", "orders.fifo", "orders-dlq.fifo"],
    ["orders.fifo", "orders.fifo", "orders-dlq.fifo"],
  ])("FIFO queueName %j becomes %j with DLQ %j", (queueName, sourceName, dlqName) => {
    const { template } = synth({ fifo: true, queueName });
    const { source, dlq } = sourceAndDeadLetter(template);
    expect(source.properties.QueueName).toBe(sourceName);
    expect(dlq.properties.QueueName).toBe(dlqName);
    const policy = dlq.properties.RedriveAllowPolicy as { sourceQueueArns: unknown[] };
    expect(joined(policy.sourceQueueArns[0])).toMatch(new RegExp(`:${sourceName}$`));
  });
});

describe("ReliableQueue options", () => {
  it("uses an explicit standard queueName as given", () => {
    const { template } = synth({ queueName: "jobs_v2" });
    const { source, dlq } = sourceAndDeadLetter(template);
    expect(source.properties.QueueName).toBe("jobs_v2");
    expect(dlq.properties.QueueName).toBe("jobs_v2-dlq");
  });

  it("encrypts both queues with the given KMS key", () => {
    const stack = newStack();
    const key = new Key(stack, "QueueKey");
    new ReliableQueue(stack, "Jobs", { encryption: QueueEncryption.KMS, encryptionMasterKey: key });
    const template = Template.fromStack(stack);
    const keyId = Object.keys(template.findResources("AWS::KMS::Key"))[0];
    expect(keyId).toBeDefined();
    const { source, dlq } = sourceAndDeadLetter(template);
    for (const queue of [source, dlq]) {
      expect(queue.properties.KmsMasterKeyId).toEqual({ "Fn::GetAtt": [keyId, "Arn"] });
      expect(queue.properties.SqsManagedSseEnabled).toBeUndefined();
    }
  });

  it("uses KMS when a key is given without an encryption setting", () => {
    const stack = newStack();
    const key = new Key(stack, "QueueKey");
    new ReliableQueue(stack, "Jobs", { encryptionMasterKey: key });
    const { source, dlq } = sourceAndDeadLetter(Template.fromStack(stack));
    for (const queue of [source, dlq]) expect(queue.properties.KmsMasterKeyId).toBeDefined();
  });

  it("does not validate token durations (CfnParameter)", () => {
    const stack = newStack();
    const days = new CfnParameter(stack, "RetentionSeconds", { type: "Number" });
    expect(
      () =>
        new ReliableQueue(stack, "Param", {
          retentionPeriod: Duration.seconds(days.valueAsNumber),
          visibilityTimeout: Duration.seconds(days.valueAsNumber),
        }),
    ).not.toThrow();
  });

  it("passes maxReceiveCount, retention periods, visibility and delay through", () => {
    const { template, reliable } = synth({
      maxReceiveCount: 3,
      retentionPeriod: Duration.days(1),
      deadLetterRetentionPeriod: Duration.days(7),
      visibilityTimeout: Duration.minutes(10),
      deliveryDelay: Duration.seconds(30),
    });
    const { source, dlq } = sourceAndDeadLetter(template);
    expect((source.properties.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount).toBe(
      3,
    );
    expect(source.properties.MessageRetentionPeriod).toBe(86_400);
    expect(dlq.properties.MessageRetentionPeriod).toBe(604_800);
    expect(source.properties.VisibilityTimeout).toBe(600);
    expect(source.properties.DelaySeconds).toBe(30);
    expect(reliable.maxReceiveCount).toBe(3);
  });

  it("does not validate a token maxReceiveCount (Lazy number)", () => {
    const stack = newStack();
    expect(
      () =>
        new ReliableQueue(stack, "Lazy", { maxReceiveCount: Lazy.number({ produce: () => 7 }) }),
    ).not.toThrow();
    const { source } = sourceAndDeadLetter(Template.fromStack(stack));
    expect((source.properties.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount).toBe(
      7,
    );
  });

  it("does not validate a token maxReceiveCount (CfnParameter)", () => {
    const stack = newStack();
    const param = new CfnParameter(stack, "MaxReceives", { type: "Number" });
    expect(
      () => new ReliableQueue(stack, "Param", { maxReceiveCount: param.valueAsNumber }),
    ).not.toThrow();
    const { source } = sourceAndDeadLetter(Template.fromStack(stack));
    expect(
      (source.properties.RedrivePolicy as { maxReceiveCount: unknown }).maxReceiveCount,
    ).toEqual({ Ref: "MaxReceives" });
  });
});

describe("ReliableQueue validation", () => {
  const fails = (props: ReliableQueueProps) => () => new ReliableQueue(newStack(), "Jobs", props);

  it("names the queue whose props it refuses: of two queues, the second", () => {
    const stack = newStack();
    new ReliableQueue(stack, "Orders", { maxReceiveCount: 5 });
    const error = thrownBy(() => new ReliableQueue(stack, "Refunds", { maxReceiveCount: 0 }));
    expect(error).toBeInstanceOf(SpoolValidationError);
    expect(error).toMatchObject({
      constructPath: "Test/Refunds",
      message: "Test/Refunds: maxReceiveCount must be an integer from 1 to 1000, got 0",
    });
  });

  it.each([0, 1001, 2.5])("rejects maxReceiveCount %s, naming the prop and value", (value) => {
    expect(fails({ maxReceiveCount: value })).toThrow(
      new RegExp(`maxReceiveCount must be an integer from 1 to 1000, got ${value}$`),
    );
  });

  it.each([1, 1000])("accepts maxReceiveCount %s", (value) => {
    expect(fails({ maxReceiveCount: value })).not.toThrow();
  });

  it("rejects a DLQ retention equal to the source's", () => {
    expect(
      fails({ retentionPeriod: Duration.days(4), deadLetterRetentionPeriod: Duration.days(4) }),
    ).toThrow(
      /deadLetterRetentionPeriod must be longer than retentionPeriod \(345600 s\), got 345600 s/,
    );
  });

  it("rejects a DLQ retention shorter than the source's", () => {
    expect(
      fails({ retentionPeriod: Duration.days(10), deadLetterRetentionPeriod: Duration.days(2) }),
    ).toThrow(
      /deadLetterRetentionPeriod must be longer than retentionPeriod \(864000 s\), got 172800 s/,
    );
  });

  it("rejects a source retention of 14 days (the DLQ cannot keep longer)", () => {
    expect(fails({ retentionPeriod: Duration.days(14) })).toThrow(
      /deadLetterRetentionPeriod must be longer than retentionPeriod \(1209600 s\), got 1209600 s/,
    );
  });

  it.each([
    ["retentionPeriod", { retentionPeriod: Duration.seconds(30) }, 30],
    ["deadLetterRetentionPeriod", { deadLetterRetentionPeriod: Duration.days(15) }, 1_296_000],
  ] as const)("rejects %s out of range", (name, props, value) => {
    expect(fails(props)).toThrow(
      new RegExp(`${name} must be from 60 seconds to 14 days, got ${value} s`),
    );
  });

  it('rejects a queueName ending in ".fifo" on a standard queue', () => {
    expect(fails({ queueName: "orders.fifo" })).toThrow(
      /queueName ends in "\.fifo" but fifo is false, got queueName "orders\.fifo"/,
    );
  });

  it.each(["orders queue", "orders/1", "órdenes", "a.b", ""])(
    "rejects invalid characters in queueName %j",
    (queueName) => {
      expect(fails({ queueName })).toThrow(
        new RegExp(
          `queueName may hold only letters, digits, hyphens and underscores.*got "${queueName.replace(/[.]/g, "\\.")}"`,
        ),
      );
    },
  );

  it("rejects contentBasedDeduplication without fifo", () => {
    expect(fails({ contentBasedDeduplication: true })).toThrow(
      /contentBasedDeduplication needs a FIFO queue, got contentBasedDeduplication true with fifo false/,
    );
  });

  it("rejects highThroughputFifo without fifo", () => {
    expect(fails({ highThroughputFifo: true })).toThrow(
      /highThroughputFifo needs a FIFO queue, got highThroughputFifo true with fifo false/,
    );
  });

  it("rejects a delivery delay above 15 minutes", () => {
    expect(fails({ deliveryDelay: Duration.minutes(16) })).toThrow(
      /deliveryDelay must be from 0 to 15 minutes, got 960 s/,
    );
  });

  it("accepts a delivery delay of exactly 15 minutes", () => {
    expect(fails({ deliveryDelay: Duration.minutes(15) })).not.toThrow();
  });

  it("rejects a visibility timeout above 12 hours", () => {
    expect(fails({ visibilityTimeout: Duration.hours(13) })).toThrow(
      /visibilityTimeout must be at most 12 hours, got 46800 s/,
    );
  });

  it("refuses an unencrypted queue", () => {
    expect(fails({ encryption: QueueEncryption.UNENCRYPTED })).toThrow(
      /encryption must not be UNENCRYPTED.*got UNENCRYPTED/,
    );
  });

  it("refuses encryptionMasterKey without KMS encryption", () => {
    const stack = newStack();
    const key = new Key(stack, "Key");
    expect(
      () =>
        new ReliableQueue(stack, "Jobs", {
          encryption: QueueEncryption.SQS_MANAGED,
          encryptionMasterKey: key,
        }),
    ).toThrow(/encryptionMasterKey needs encryption KMS, got encryption SQS_MANAGED/);
  });

  it("refuses a name that leaves no room for the -dlq suffix", () => {
    const queueName = "q".repeat(77);
    expect(fails({ queueName })).toThrow(
      new RegExp(
        `queueName must leave room for "-dlq" within 80 characters, got "${queueName}" \\(77 characters\\)`,
      ),
    );
    // 76 characters + "-dlq" is exactly 80: allowed.
    expect(fails({ queueName: "q".repeat(76) })).not.toThrow();
  });

  it("refuses a FIFO name that leaves no room for -dlq.fifo", () => {
    const queueName = "q".repeat(72);
    expect(fails({ fifo: true, queueName })).toThrow(
      /queueName must leave room for "-dlq\.fifo" within 80 characters/,
    );
    expect(fails({ fifo: true, queueName: "q".repeat(71) })).not.toThrow();
  });
});
