import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import { monitoredStack, type Resources } from "../../../helpers/spool-monitoring.js";

/** Orders (FIFO, from monitoredStack) and Notifications, sampled by the default schedule. */
function sampled(): Template {
  const { stack } = monitoredStack({}, (s) => {
    new ReliableQueue(s, "Notifications");
  });
  return Template.fromStack(stack);
}

describe("SpoolMonitoring queue sampler", () => {
  it("samples every queue on a schedule, with least privilege", () => {
    const template = sampled();
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
          Input: Match.anyValue(),
        }),
      ],
    });
    const rules = Object.values(template.findResources("AWS::Events::Rule") as Resources);
    const targets = (rules[0]?.Properties.Targets ?? []) as { Input: unknown }[];
    const input = JSON.stringify(targets[0]?.Input);
    expect(input).toContain('\\"rateWindowSeconds\\":300');
    expect(input).toContain('\\"growthWindowSeconds\\":300');
    expect(input).toContain("OrdersQueue");
    expect(input).toContain("NotificationsDeadLetterQueue");
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "cloudwatch:PutMetricData",
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": "Spool" } },
          }),
          Match.objectLike({ Action: "sqs:GetQueueAttributes" }),
        ]),
      }),
    });
    // Its own role: no managed policy covering every log group, only its own log group.
    const roles = template.findResources("AWS::IAM::Role") as Resources;
    const sampler = Object.entries(roles).find(([id]) => id.includes("QueueSamplerRole"));
    expect(sampler?.[1].Properties.ManagedPolicyArns).toBeUndefined();
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: sampler?.[0] }],
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("QueueSamplerLogs"), "Arn"] },
          }),
        ]),
      }),
    });
  });

  it("splits the sampled queues over schedules so no rule input outgrows its limit", () => {
    const { stack } = monitoredStack({}, (s) => {
      for (let i = 0; i < 30; i++) new ReliableQueue(s, `Q${i}`);
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::Events::Rule", 2);
    for (const rule of Object.values(template.findResources("AWS::Events::Rule") as Resources)) {
      const input = JSON.stringify((rule.Properties.Targets as { Input: unknown }[])[0]?.Input);
      expect(input.length).toBeLessThan(8192);
    }
  });
});
