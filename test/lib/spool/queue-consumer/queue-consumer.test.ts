import { fileURLToPath } from "node:url";
import { App, CfnParameter, Duration, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { CfnQueue } from "aws-cdk-lib/aws-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { IdempotencyTable } from "../../../../lib/spool/idempotency-table/index.js";
import { PayloadStore } from "../../../../lib/spool/payload-store/index.js";
import {
  QueueConsumer,
  type QueueConsumerProps,
} from "../../../../lib/spool/queue-consumer/index.js";
import {
  ReliableQueue,
  type ReliableQueueProps,
} from "../../../../lib/spool/reliable-queue/index.js";
import { expectRefusal } from "../../../helpers/errors.js";

const entry = fileURLToPath(new URL("../../../helpers/fixtures/noop-handler.ts", import.meta.url));

/**
 * `bundle: false` skips esbuild (CDK's `aws:cdk:bundling-stacks` context) for tests that only
 * look at validation, so they stay fast.
 */
function newStack(options: { bundle?: boolean } = {}): Stack {
  const app = new App(
    options.bundle === false ? { context: { "aws:cdk:bundling-stacks": [] } } : {},
  );
  return new Stack(app, "Test", { env: { account: "111111111111", region: "us-east-1" } });
}

interface Built {
  readonly stack: Stack;
  readonly queue: ReliableQueue;
  readonly table: IdempotencyTable;
  readonly consumer: QueueConsumer;
}

function build(
  consumerProps: Partial<QueueConsumerProps> & { withTable?: boolean } = {},
  queueProps: ReliableQueueProps = {},
  options: { bundle?: boolean } = {},
): Built {
  const stack = newStack(options);
  const queue = new ReliableQueue(stack, "Jobs", queueProps);
  const table = new IdempotencyTable(stack, "Idempotency");
  const { withTable = true, ...rest } = consumerProps;
  const consumer = new QueueConsumer(stack, "Consumer", {
    source: queue,
    entry,
    ...(withTable ? { idempotencyTable: table.table } : {}),
    ...rest,
  });
  return { stack, queue, table, consumer };
}

type Properties = Record<string, unknown>;

function logicalIdOf(template: Template, type: string, predicate: (props: Properties) => boolean) {
  const match = Object.entries(template.findResources(type)).find(([, r]) =>
    predicate((r as { Properties?: Properties }).Properties ?? {}),
  );
  if (!match) throw new Error(`no ${type} matched`);
  return match[0];
}

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

function functionStatements(template: Template): Statement[] {
  return Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties
        .PolicyDocument.Statement,
  );
}

/** Every action granted on the given resource (a logical id's Arn). */
function actionsOn(template: Template, logicalId: string): string[] {
  const arn = JSON.stringify({ "Fn::GetAtt": [logicalId, "Arn"] });
  return functionStatements(template)
    .filter((s) => s.Effect === "Allow")
    .filter((s) => {
      const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      return resources.some((r) => JSON.stringify(r) === arn);
    })
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

describe("QueueConsumer with defaults", () => {
  let template: Template;
  let built: Built;
  let sourceId: string;
  let dlqId: string;
  let tableId: string;

  beforeAll(() => {
    built = build();
    template = Template.fromStack(built.stack);
    sourceId = logicalIdOf(template, "AWS::SQS::Queue", (p) => p.RedrivePolicy !== undefined);
    dlqId = logicalIdOf(template, "AWS::SQS::Queue", (p) => p.RedrivePolicy === undefined);
    tableId = logicalIdOf(template, "AWS::DynamoDB::Table", () => true);
  }, 60_000);

  it("creates one Node.js 24 arm64 function with active tracing, 30 s and 256 MB", () => {
    template.resourceCountIs("AWS::Lambda::Function", 1);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      TracingConfig: { Mode: "Active" },
      Timeout: 30,
      MemorySize: 256,
      Handler: "index.handler",
    });
  });

  it("wires Spool's runtime configuration into the environment", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: {
          SPOOL_CONSUMER_NAME: built.consumer.consumerName,
          SPOOL_DEAD_LETTER_QUEUE_URL: { Ref: dlqId },
          SPOOL_MAX_RECEIVE_COUNT: "5",
          SPOOL_BACKOFF_BASE_SECONDS: "2",
          SPOOL_BACKOFF_CAP_SECONDS: "300",
          SPOOL_IDEMPOTENCY_TABLE: { Ref: tableId },
          SPOOL_IDEMPOTENCY_TTL_SECONDS: "86400",
          POWERTOOLS_SERVICE_NAME: built.consumer.consumerName,
          POWERTOOLS_METRICS_NAMESPACE: "Spool",
        },
      },
    });
    // A generated consumer name: stable, derived from the construct path, usable as a prefix.
    expect(built.consumer.consumerName).toMatch(/^Test-Consumer-[A-F0-9]{8}$/);
  });

  it("maps the source queue with partial batch responses, batch 10 and max concurrency 5", () => {
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [sourceId, "Arn"] },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });

  it("may receive, delete and change visibility on the source queue, and send it a copy", () => {
    expect(actionsOn(template, sourceId)).toEqual(
      expect.arrayContaining([
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        // A record sent again: out of attempts while another delivery holds it, or held until due.
        "sqs:SendMessage",
      ]),
    );
  });

  it("may not send to a FIFO source (a copy would lose its place in its group)", () => {
    const fifo = build({}, { fifo: true }, { bundle: false });
    const fifoTemplate = Template.fromStack(fifo.stack);
    const queueId = fifo.stack.getLogicalId(fifo.queue.queue.node.defaultChild as CfnQueue);
    expect(actionsOn(fifoTemplate, queueId)).toEqual(
      expect.arrayContaining(["sqs:ReceiveMessage"]),
    );
    expect(actionsOn(fifoTemplate, queueId)).not.toContain("sqs:SendMessage");
  });

  it("may send to the dead-letter queue, and only send", () => {
    const actions = actionsOn(template, dlqId);
    expect(actions).toContain("sqs:SendMessage");
    expect(actions).not.toContain("sqs:ReceiveMessage");
    expect(actions).not.toContain("sqs:DeleteMessage");
  });

  it("has exactly the four idempotency actions on the idempotency table", () => {
    expect(actionsOn(template, tableId).slice().sort()).toEqual([
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]);
  });

  it("may touch only its own idempotency records (leading key = its consumer name)", () => {
    const arn = JSON.stringify({ "Fn::GetAtt": [tableId, "Arn"] });
    const statements = functionStatements(template).filter((s) =>
      (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).some(
        (r) => JSON.stringify(r) === arn,
      ),
    );
    expect(statements).toHaveLength(1);
    expect((statements[0] as Statement & { Condition?: unknown }).Condition).toEqual({
      "ForAllValues:StringLike": {
        "dynamodb:LeadingKeys": [`${built.consumer.consumerName}#*`],
      },
    });
  });

  it("grants no wildcard action", () => {
    for (const statement of functionStatements(template)) {
      const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
      for (const action of actions) expect(action).not.toMatch(/\*/);
    }
  });

  it("logs to its own log group kept 30 days", () => {
    const logGroupId = logicalIdOf(template, "AWS::Logs::LogGroup", () => true);
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    template.hasResourceProperties("AWS::Lambda::Function", {
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
  });

  it("adds no idempotency warning when a table is given", () => {
    Annotations.fromStack(built.stack).hasNoWarning(
      "*",
      Match.stringLikeRegexp("no idempotencyTable"),
    );
  });
});

describe("QueueConsumer options", () => {
  it("passes custom settings through and keeps Spool's variables over user ones", () => {
    const { stack, consumer } = build(
      {
        consumerName: "billing",
        serviceName: "billing-service",
        metricsNamespace: "Acme",
        timeout: Duration.seconds(20),
        memorySize: 1024,
        batchSize: 50,
        maxBatchingWindow: Duration.seconds(5),
        maxConcurrency: 20,
        backoff: { base: Duration.seconds(1), cap: Duration.seconds(60) },
        idempotencyTtl: Duration.hours(1),
        logRetention: RetentionDays.ONE_WEEK,
        environment: { FEATURE: "on", SPOOL_MAX_RECEIVE_COUNT: "999" },
      },
      { maxReceiveCount: 3, visibilityTimeout: Duration.minutes(2) },
    );
    const template = Template.fromStack(stack);
    expect(consumer.consumerName).toBe("billing");
    template.hasResourceProperties("AWS::Lambda::Function", {
      Timeout: 20,
      MemorySize: 1024,
      Environment: {
        Variables: Match.objectLike({
          FEATURE: "on",
          SPOOL_CONSUMER_NAME: "billing",
          SPOOL_MAX_RECEIVE_COUNT: "3",
          SPOOL_BACKOFF_BASE_SECONDS: "1",
          SPOOL_BACKOFF_CAP_SECONDS: "60",
          SPOOL_IDEMPOTENCY_TTL_SECONDS: "3600",
          POWERTOOLS_SERVICE_NAME: "billing-service",
          POWERTOOLS_METRICS_NAMESPACE: "Acme",
        }),
      },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 20 },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 7 });
  });

  it("without an idempotency table: no table variable, no DynamoDB grant, and a warning", () => {
    const { stack } = build({ withTable: false }, {}, { bundle: false });
    const template = Template.fromStack(stack);
    const variables = (
      Object.values(template.findResources("AWS::Lambda::Function"))[0] as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      }
    ).Properties.Environment.Variables;
    expect(variables).not.toHaveProperty("SPOOL_IDEMPOTENCY_TABLE");
    const actions = functionStatements(template).flatMap((s) =>
      Array.isArray(s.Action) ? s.Action : [s.Action],
    );
    expect(actions.filter((a) => a.startsWith("dynamodb:"))).toEqual([]);
    Annotations.fromStack(stack).hasWarning(
      "/Test/Consumer",
      Match.stringLikeRegexp("QueueConsumer has no idempotencyTable"),
    );
  });

  it("with a payload store: reads its objects, and names its bucket in the environment", () => {
    const stack = newStack({ bundle: false });
    const queue = new ReliableQueue(stack, "Jobs");
    const store = new PayloadStore(stack, "Payloads", { queues: [queue] });
    new QueueConsumer(stack, "Consumer", { source: queue, entry, payloadStore: store });
    const template = Template.fromStack(stack);
    const bucket = Object.keys(template.findResources("AWS::S3::Bucket"))[0] as string;
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ SPOOL_PAYLOAD_BUCKET: { Ref: bucket } }) },
    });
    expect(actionsOn(template, bucket)).toEqual(["s3:ListBucket"]);
    const objects = JSON.stringify({
      "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/*"]],
    });
    expect(
      functionStatements(template)
        .filter((s) => JSON.stringify(s.Resource) === objects)
        .map((s) => s.Action),
    ).toEqual(["s3:GetObject"]);
  });

  it("accepts a FIFO source with batchSize 10", () => {
    expect(() => build({ batchSize: 10 }, { fifo: true }, { bundle: false })).not.toThrow();
  });
});

describe("QueueConsumer validation", () => {
  const fails =
    (consumerProps: Partial<QueueConsumerProps>, queueProps: ReliableQueueProps = {}) =>
    () =>
      build(consumerProps, queueProps, { bundle: false });

  it("rejects a source visibility timeout under 6x the function timeout, naming both", () => {
    expect(fails({}, { visibilityTimeout: Duration.seconds(30) })).toThrow(
      /visibilityTimeout of the source queue must be at least 6x the consumer timeout \(180 s\), got 30 s/,
    );
    expect(
      fails({ timeout: Duration.seconds(60) }, { visibilityTimeout: Duration.seconds(359) }),
    ).toThrow(/at least 6x the consumer timeout \(360 s\), got 359 s/);
  });

  it("accepts a visibility timeout of exactly 6x the function timeout", () => {
    expect(
      fails({ timeout: Duration.seconds(60) }, { visibilityTimeout: Duration.seconds(360) }),
    ).not.toThrow();
  });

  it.each([1, 1001])("rejects maxConcurrency %s", (maxConcurrency) => {
    expect(fails({ maxConcurrency })).toThrow(
      new RegExp(`maxConcurrency must be an integer from 2 to 1000, got ${maxConcurrency}$`),
    );
  });

  it("rejects batchSize 11 on a FIFO source", () => {
    expect(fails({ batchSize: 11 }, { fifo: true })).toThrow(
      /batchSize \(FIFO source\) must be an integer from 1 to 10, got 11/,
    );
  });

  it("rejects batchSize 100 on a standard source without a batching window", () => {
    expect(fails({ batchSize: 100 })).toThrow(
      /batchSize above 10 needs maxBatchingWindow, got batchSize 100 with no window/,
    );
  });

  it("accepts batchSize 100 on a standard source with a batching window", () => {
    expect(fails({ batchSize: 100, maxBatchingWindow: Duration.seconds(1) })).not.toThrow();
  });

  it("rejects batchSize above 10,000 on a standard source", () => {
    expect(fails({ batchSize: 10_001, maxBatchingWindow: Duration.seconds(1) })).toThrow(
      /batchSize must be an integer from 1 to 10000, got 10001/,
    );
  });

  it("rejects a batching window above 300 s", () => {
    expect(fails({ batchSize: 20, maxBatchingWindow: Duration.seconds(301) })).toThrow(
      /maxBatchingWindow must be from 0 to 300 s, got 301 s/,
    );
  });

  it("rejects memorySize 64", () => {
    expect(fails({ memorySize: 64 })).toThrow(
      /memorySize must be an integer from 128 to 10240 MB, got 64 MB/,
    );
  });

  it("rejects a 16 minute timeout", () => {
    expect(
      fails({ timeout: Duration.minutes(16) }, { visibilityTimeout: Duration.hours(12) }),
    ).toThrow(/timeout must be from 1 second to 15 minutes, got 960 s/);
  });

  it("rejects a backoff cap below its base", () => {
    expect(fails({ backoff: { base: Duration.seconds(10), cap: Duration.seconds(5) } })).toThrow(
      /backoff\.cap must be >= backoff\.base \(10 s\), got 5 s/,
    );
  });

  it("rejects a backoff cap above 12 hours", () => {
    expect(fails({ backoff: { base: Duration.seconds(1), cap: Duration.hours(13) } })).toThrow(
      /backoff\.cap must be at most 12 hours \(the SQS visibility limit\), got 46800 s/,
    );
  });

  it("rejects a 10 s idempotencyTtl", () => {
    expect(fails({ idempotencyTtl: Duration.seconds(10) })).toThrow(
      /idempotencyTtl must be at least 60 s, got 10 s/,
    );
  });

  it("rejects a source whose maxReceiveCount is out of range", () => {
    const stack = newStack({ bundle: false });
    const queue = new ReliableQueue(stack, "Jobs");
    expect(
      () =>
        new QueueConsumer(stack, "Consumer", {
          source: {
            queue: queue.queue,
            deadLetterQueue: queue.deadLetterQueue,
            fifo: false,
            visibilityTimeout: queue.visibilityTimeout,
            maxReceiveCount: 0,
          },
          entry,
        }),
    ).toThrow(/source\.maxReceiveCount must be an integer from 1 to 1000, got 0/);
  });

  it("validates before creating anything: a failed check leaves no function behind", () => {
    const stack = newStack({ bundle: false });
    const queue = new ReliableQueue(stack, "Jobs", { visibilityTimeout: Duration.seconds(30) });
    expect(() => new QueueConsumer(stack, "Consumer", { source: queue, entry })).toThrow(/6x/);
    expect(stack.node.tryFindChild("Consumer")?.node.tryFindChild("Function")).toBeUndefined();
  });

  it("accepts token settings (CfnParameter) and writes them as strings", () => {
    const stack = newStack({ bundle: false });
    const receives = new CfnParameter(stack, "Receives", { type: "Number" });
    const timeoutSeconds = new CfnParameter(stack, "TimeoutSeconds", { type: "Number" });
    const queue = new ReliableQueue(stack, "Jobs", { maxReceiveCount: receives.valueAsNumber });
    expect(
      () =>
        new QueueConsumer(stack, "Consumer", {
          source: queue,
          entry,
          timeout: Duration.seconds(timeoutSeconds.valueAsNumber),
        }),
    ).not.toThrow();
    const fn = Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function"))[0];
    expect(fn?.Properties.Environment.Variables.SPOOL_MAX_RECEIVE_COUNT).toEqual({
      Ref: "Receives",
    });
  });
});

describe("QueueConsumer heartbeat", () => {
  const heartbeat = { every: Duration.seconds(10), extendBy: Duration.seconds(30) };
  const fails =
    (consumerProps: Partial<QueueConsumerProps>, queueProps: ReliableQueueProps = {}) =>
    () =>
      build(consumerProps, queueProps, { bundle: false });
  const variables = (stack: Stack) =>
    Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function"))[0]?.Properties
      .Environment.Variables;

  it("writes its period and extension, in seconds, into the environment", () => {
    const { stack } = build({ heartbeat }, {}, { bundle: false });
    expect(variables(stack)).toMatchObject({
      SPOOL_HEARTBEAT_EVERY_SECONDS: "10",
      SPOOL_HEARTBEAT_EXTEND_BY_SECONDS: "30",
    });
  });

  it("is off by default: no heartbeat variables", () => {
    const { stack } = build({}, {}, { bundle: false });
    expect(Object.keys(variables(stack))).not.toContain("SPOOL_HEARTBEAT_EVERY_SECONDS");
    expect(Object.keys(variables(stack))).not.toContain("SPOOL_HEARTBEAT_EXTEND_BY_SECONDS");
  });

  it("acknowledges CloudFormation's visibility-below-timeout check on its queue, only with a heartbeat", () => {
    const acknowledged = (built: Built) =>
      built.queue.queue.node.metadata
        .filter((m) => m.type === "aws:cdk:acknowledged-rules")
        .flatMap((m) => Object.keys(m.data as Record<string, string>));
    expect(acknowledged(build({ heartbeat }, {}, { bundle: false }))).toContain(
      "CloudFormation-Validate::E3505",
    );
    expect(acknowledged(build({}, {}, { bundle: false }))).not.toContain(
      "CloudFormation-Validate::E3505",
    );
  });

  it("relaxes the 6x rule: the queue's visibility need only cover every + 10 s", () => {
    // 30 s of visibility for a 5-minute function: refused without a heartbeat, accepted with.
    const props = { timeout: Duration.minutes(5) };
    const queue = { visibilityTimeout: Duration.seconds(20) };
    expect(fails(props, queue)).toThrow(/at least 6x the consumer timeout \(1800 s\), got 20 s/);
    expect(fails({ ...props, heartbeat }, queue)).not.toThrow();
  });

  it("explains the heartbeat as the alternative when it refuses the 6x rule", () => {
    expect(fails({}, { visibilityTimeout: Duration.seconds(30) })).toThrow(
      /or give the consumer a heartbeat, which keeps running records hidden and needs only heartbeat\.every \+ 10 s/,
    );
  });

  it("rejects a visibility under every + 10 s, naming the bound and the value", () => {
    expectRefusal(
      fails(
        { heartbeat: { every: Duration.seconds(15), extendBy: Duration.seconds(60) } },
        { visibilityTimeout: Duration.seconds(24) },
      ),
      "Test/Consumer",
      "visibilityTimeout of the source queue must be at least heartbeat.every + 10 s (25 s) for a consumer with a heartbeat, got 24 s",
    );
    expect(
      fails(
        { heartbeat: { every: Duration.seconds(15), extendBy: Duration.seconds(60) } },
        { visibilityTimeout: Duration.seconds(25) },
      ),
    ).not.toThrow();
  });

  it.each([
    [
      { every: Duration.millis(500), extendBy: Duration.seconds(30) },
      "heartbeat.every must be whole seconds, at least 1 s, got 0.5 s",
    ],
    [
      { every: Duration.seconds(0), extendBy: Duration.seconds(30) },
      "heartbeat.every must be whole seconds, at least 1 s, got 0 s",
    ],
    [
      { every: Duration.seconds(10), extendBy: Duration.hours(13) },
      "heartbeat.extendBy must be whole seconds, at most 12 hours (the SQS visibility limit), got 46800 s",
    ],
    [
      { every: Duration.seconds(30), extendBy: Duration.seconds(30) },
      "heartbeat.every must be less than heartbeat.extendBy (30 s), got 30 s",
    ],
    [
      { every: Duration.seconds(40), extendBy: Duration.seconds(30) },
      "heartbeat.every must be less than heartbeat.extendBy (30 s), got 40 s",
    ],
  ])("rejects %j, naming the construct, the prop and the value", (bad, message) => {
    expectRefusal(fails({ heartbeat: bad }), "Test/Consumer", message);
  });

  it("accepts the 12-hour extension and a 1 s period", () => {
    expect(
      fails({ heartbeat: { every: Duration.seconds(1), extendBy: Duration.hours(12) } }),
    ).not.toThrow();
  });
});

describe("QueueConsumer validation names the construct", () => {
  it("of two consumers, names the one refused, its prop and the value", () => {
    const stack = newStack({ bundle: false });
    const queue = new ReliableQueue(stack, "Jobs");
    new QueueConsumer(stack, "Orders", { source: queue, entry });
    expectRefusal(
      () => new QueueConsumer(stack, "Refunds", { source: queue, entry, maxConcurrency: 1 }),
      "Test/Refunds",
      "maxConcurrency must be an integer from 2 to 1000, got 1",
    );
  });
});

describe("QueueConsumer rate limit", () => {
  const fails = (consumerProps: Partial<QueueConsumerProps> & { withTable?: boolean }) => () =>
    build(consumerProps, {}, { bundle: false });
  const variables = (stack: Stack) =>
    Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function"))[0]?.Properties
      .Environment.Variables;
  const policies = (stack: Stack) =>
    Object.values(Template.fromStack(stack).findResources("AWS::IAM::Policy")).map(
      (p) => p.Properties.PolicyDocument.Statement,
    );

  it("writes the rate, the burst and the key into the environment", () => {
    const { stack } = build(
      {
        consumerName: "mailer",
        rateLimit: { perSecond: 0.5, burst: 3, key: { bodyField: "tenant.id" } },
      },
      {},
      { bundle: false },
    );
    expect(variables(stack)).toMatchObject({
      SPOOL_RATE_LIMIT_PER_SECOND: "0.5",
      SPOOL_RATE_LIMIT_BURST: "3",
      SPOOL_RATE_LIMIT_KEY: "body:tenant.id",
    });
    const byAttribute = build(
      { rateLimit: { perSecond: 5, burst: 5, key: { messageAttribute: "tenant-id" } } },
      {},
      { bundle: false },
    );
    expect(variables(byAttribute.stack).SPOOL_RATE_LIMIT_KEY).toBe("attribute:tenant-id");
  });

  it("is off by default: no rate-limit variables", () => {
    const keys = Object.keys(variables(build({}, {}, { bundle: false }).stack));
    expect(keys.filter((k) => k.startsWith("SPOOL_RATE_LIMIT"))).toEqual([]);
  });

  it("keeps its buckets under the consumer's own key prefix: the grant is the same as without it", () => {
    const limited = build(
      { consumerName: "mailer", rateLimit: { perSecond: 5, burst: 5 } },
      {},
      { bundle: false },
    );
    const plain = build({ consumerName: "mailer" }, {}, { bundle: false });
    expect(policies(limited.stack)).toEqual(policies(plain.stack));
    // The buckets' keys, "mailer#rate-limit#<bucket>", match the one condition on the table.
    expect(JSON.stringify(policies(limited.stack))).toContain(
      '"dynamodb:LeadingKeys":["mailer#*"]',
    );
  });

  it.each([
    [
      { perSecond: 0, burst: 5 },
      "rateLimit.perSecond must be a number above 0 and at most 1000 (one bucket item's write limit), got 0",
    ],
    [
      { perSecond: -1, burst: 5 },
      "rateLimit.perSecond must be a number above 0 and at most 1000 (one bucket item's write limit), got -1",
    ],
    [
      { perSecond: 1001, burst: 5 },
      "rateLimit.perSecond must be a number above 0 and at most 1000 (one bucket item's write limit), got 1001",
    ],
    [
      { perSecond: Number.NaN, burst: 5 },
      "rateLimit.perSecond must be a number above 0 and at most 1000 (one bucket item's write limit), got NaN",
    ],
    [{ perSecond: 5, burst: 0 }, "rateLimit.burst must be an integer of at least 1, got 0"],
    [{ perSecond: 5, burst: 2.5 }, "rateLimit.burst must be an integer of at least 1, got 2.5"],
    [
      { perSecond: 5, burst: 5, key: { bodyField: "tenant..id" } },
      'rateLimit.key.bodyField must be a field name or a dotted path of them, got {"bodyField":"tenant..id"}',
    ],
    [
      { perSecond: 5, burst: 5, key: { messageAttribute: "tenant id" } },
      'rateLimit.key must be { bodyField } or { messageAttribute } (a message attribute name: letters, digits, _ . -), got {"messageAttribute":"tenant id"}',
    ],
    [
      { perSecond: 5, burst: 5, key: { bodyField: "a", messageAttribute: "b" } as never },
      'rateLimit.key must name either bodyField or messageAttribute, got {"bodyField":"a","messageAttribute":"b"}',
    ],
  ])("refuses %o, naming the path, the prop and the value", (rateLimit, message) => {
    expectRefusal(fails({ rateLimit }), "Test/Consumer", message);
  });

  it("refuses a rate limit without an idempotency table to keep its buckets in", () => {
    expectRefusal(
      fails({ withTable: false, rateLimit: { perSecond: 5, burst: 5 } }),
      "Test/Consumer",
      "rateLimit needs idempotencyTable (its token buckets are kept there, and a deferred record's re-send relies on it to run once), got no idempotencyTable",
    );
  });
});
