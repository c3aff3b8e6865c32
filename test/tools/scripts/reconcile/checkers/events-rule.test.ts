import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { localClientConfig } from "../../../../../tools/scripts/lib/local-cloud.js";
import { eventsRule } from "../../../../../tools/scripts/reconcile/checkers/events-rule.js";
import { compareAndFix } from "../../../../../tools/scripts/reconcile/compare.js";
import { checkFor } from "../../../../helpers/reconcile.js";

const events = mockClient(EventBridgeClient);
const checksOf = eventsRule.connect(
  localClientConfig({ AWS_ENDPOINT_URL: "http://127.0.0.1:4571" }),
);

afterEach(() => events.reset());

const target = {
  Id: "Target0",
  Arn: "arn:aws:sqs:us-east-1:000000000000:analytics",
  DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:analytics-dlq" },
  RetryPolicy: { MaximumRetryAttempts: 3 },
};

describe("EventBridge rule checker", () => {
  it("finds a rule on a custom bus by its bare name, from CloudFormation's bus|rule id", async () => {
    const pattern = { source: ["spool.orders"] };
    events.on(DescribeRuleCommand).resolves({ EventPattern: JSON.stringify(pattern) });
    const check = checkFor(
      checksOf("orders-bus|analytics", { EventBusName: "orders-bus", EventPattern: pattern }),
      "EventPattern",
    );
    expect(await compareAndFix(check, { dryRun: true })).toBeUndefined();
    expect(events.commandCalls(DescribeRuleCommand)[0]?.args[0].input).toEqual({
      Name: "analytics",
      EventBusName: "orders-bus",
    });
  });

  it("puts back a target whose dead-letter queue and retry policy were dropped", async () => {
    const { DeadLetterConfig: _dlq, RetryPolicy: _retry, ...bare } = target;
    events
      .on(ListTargetsByRuleCommand)
      .resolvesOnce({ Targets: [bare] })
      .resolves({ Targets: [target] });
    events.on(PutTargetsCommand).resolves({});
    const check = checkFor(checksOf("analytics", { Targets: [target] }), "Targets[Target0]");
    expect(await compareAndFix(check)).toMatchObject({ action: "fixed" });
    expect(events.commandCalls(PutTargetsCommand)[0]?.args[0].input).toEqual({
      Rule: "analytics",
      Targets: [target],
    });
  });
});
