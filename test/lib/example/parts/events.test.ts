import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { EMULATOR_ACCOUNT, SpoolStack } from "../../../../lib/example/spool-stack.js";
import { templateApp } from "../../../helpers/template-app.js";

function synth(account: string) {
  const stack = new SpoolStack(templateApp(), "Spool", {
    env: { account, region: "us-east-1" },
    testHooks: account === EMULATOR_ACCOUNT,
  });
  return { stack, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties: Record<string, unknown> };

describe("the order events part of the reference stack", () => {
  const { stack, template } = synth("111111111111");
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ref = (c: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(c.node.defaultChild as never);
  const { events } = stack;

  it("routes OrderPlaced from the checkout to three subscriptions on the orders bus", () => {
    // Other parts of the stack add rules of their own (on the default bus); these are the bus's.
    const rules = Object.values(resources).filter(
      (r) =>
        r.Type === "AWS::Events::Rule" &&
        JSON.stringify(r.Properties.EventBusName) === JSON.stringify({ Ref: ref(events.bus) }),
    );
    expect(rules).toHaveLength(3);
    for (const rule of rules) {
      expect(rule.Properties).toMatchObject({
        EventBusName: { Ref: ref(events.bus) },
        EventPattern: { source: ["spool.checkout"], "detail-type": ["OrderPlaced"] },
      });
    }
    const targets = rules.map((r) => (r.Properties.Targets as Record<string, unknown>[])[0]);
    const payments = events.payments;
    const expected = [
      [payments.inbox?.queue, payments.deliveryDeadLetterQueue],
      [events.orderConfirmations.queue.queue, events.orderConfirmations.deliveryDeadLetterQueue],
      [events.analytics.queue.queue, events.analytics.deliveryDeadLetterQueue],
    ] as const;
    for (const [queue, dlq] of expected) {
      if (!queue) throw new Error("payments has no inbox");
      expect(targets).toContainEqual(
        expect.objectContaining({
          Arn: { "Fn::GetAtt": [ref(queue), "Arn"] },
          InputPath: "$.detail",
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [ref(dlq), "Arn"] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        }),
      );
    }
  });

  it("gives every subscription its own consumer queue and DLQ; payments is FIFO per order", () => {
    expect(events.payments.queue.fifo).toBe(true);
    expect(events.orderConfirmations.queue.fifo).toBe(false);
    expect(events.analytics.queue.fifo).toBe(false);
    const dlqs = new Set(
      [events.payments, events.orderConfirmations, events.analytics].flatMap((s) => [
        ref(s.queue.deadLetterQueue),
        ref(s.deliveryDeadLetterQueue),
      ]),
    );
    expect(dlqs.size).toBe(6);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({ SPOOL_MESSAGE_GROUP_ID_PATH: "data.orderId" }),
      },
    });
  });

  it("lets the checkout write (not read back or delete) orders, outbox rows and its keys", () => {
    const role = ref(events.checkout.role as never);
    const policy = Object.values(resources).find(
      (r) =>
        r.Type === "AWS::IAM::Policy" &&
        JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: role }]),
    );
    if (!policy) throw new Error("the checkout has no policy");
    const { Statement: statements } = policy.Properties.PolicyDocument as {
      Statement: { Action: string | string[] }[];
    };
    const actions = new Set(statements.flatMap((s) => [s.Action].flat()));
    expect([...actions].filter((a) => a.startsWith("dynamodb:")).sort()).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]);
    // On the shared idempotency table, only the checkout's own keys.
    const idempotencyArn = {
      "Fn::GetAtt": [
        ref(stack.node.findChild("Idempotency").node.findChild("Table") as never),
        "Arn",
      ],
    };
    const onIdempotency = statements.filter(
      (s) =>
        JSON.stringify((s as { Resource?: unknown }).Resource) === JSON.stringify(idempotencyArn),
    );
    expect(onIdempotency).toEqual([
      expect.objectContaining({
        Action: ["dynamodb:PutItem", "dynamodb:GetItem"],
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["checkout#*"] } },
      }),
    ]);
  });

  it("lets the order confirmation consumer make sendNotification's transaction on the effects table", () => {
    // A condition check on the suppression list and the conditional delivery in one
    // TransactWriteItems: without dynamodb:ConditionCheckItem AWS refuses every confirmation
    // (found by the integration suite under MiniStack's AUTH=true).
    const role = ref(events.orderConfirmations.consumer.function.role as never);
    const effects = ref(stack.node.findChild("Effects") as never);
    const actions = Object.values(resources)
      .filter(
        (r) =>
          r.Type === "AWS::IAM::Policy" &&
          JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: role }]),
      )
      .flatMap(
        (p) =>
          (p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] })
            .Statement,
      )
      .filter((s) => JSON.stringify(s.Resource).includes(`"${effects}"`))
      .flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
      ]),
    );
  });

  it("reports partial batch failures from the outbox stream on AWS", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [ref(events.outbox.table), "StreamArn"] },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("fails whole stream batches on the emulator, which ignores partial responses for streams", () => {
    const local = synth(EMULATOR_ACCOUNT);
    const mapping = Object.values(
      local.template.findResources("AWS::Lambda::EventSourceMapping", {
        Properties: {
          EventSourceArn: {
            "Fn::GetAtt": [
              local.stack.getLogicalId(local.stack.events.outbox.table.node.defaultChild as never),
              "StreamArn",
            ],
          },
        },
      }),
    )[0] as Resource;
    expect(mapping.Properties.FunctionResponseTypes).toBeUndefined();
    local.template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ SPOOL_STREAM_FAILURE_MODE: "throw" }) },
    });
  });

  it("archives the bus's Spool events for 30 days on AWS and tells spool events replay where everything is", () => {
    template.hasResourceProperties("AWS::Events::Archive", {
      SourceArn: { "Fn::GetAtt": [ref(events.bus), "Arn"] },
      RetentionDays: 30,
    });
    const replay = stack.resolve(template.toJSON().Outputs.EventReplay.Value);
    const text = JSON.stringify(replay);
    expect(text).toContain(ref(events.outbox.archive as never));
    for (const s of [events.payments, events.orderConfirmations, events.analytics]) {
      expect(text).toContain(`\\"${s.consumerName}\\":{\\"ruleArn\\"`);
      expect(text).toContain(ref(s.rule as never));
      expect(text).toContain(ref((s.inbox ?? s.queue).queue));
    }
  });

  it("declares no archive on the emulator, which rejects a template with one", () => {
    const local = synth(EMULATOR_ACCOUNT);
    local.template.resourceCountIs("AWS::Events::Archive", 0);
    expect(local.stack.events.outbox.archive).toBeUndefined();
    const replay = JSON.stringify(local.template.toJSON().Outputs.EventReplay.Value);
    expect(replay).not.toContain("archiveArn");
    expect(replay).toContain("outboxTable");
  });

  it("offloads large events to one PayloadStore that outlives every subscription's copies", () => {
    const bucket = { Ref: ref(events.payloads.bucket) };
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          OUTBOX_TABLE: { Ref: ref(events.outbox.table) },
          SPOOL_PAYLOAD_BUCKET: bucket,
        }),
      },
    });
    const outboxStreamWait = 86_400; // a row written by outboxPutLarge waits at most this
    for (const subscription of [events.payments, events.orderConfirmations, events.analytics]) {
      const consumer = resources[ref(subscription.consumer.function)] as Resource;
      const environment = consumer.Properties.Environment as { Variables: Record<string, unknown> };
      expect(environment.Variables.SPOOL_PAYLOAD_BUCKET).toEqual(bucket);
      expect(events.payloads.expiration.toSeconds()).toBeGreaterThan(
        outboxStreamWait +
          subscription.retentionPeriod.toSeconds() +
          subscription.deadLetterRetentionPeriod.toSeconds(),
      );
    }
  });
});
