import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { SpoolStack } from "../../../../lib/example/spool-stack.js";
import { templateApp } from "../../../helpers/template-app.js";

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown };

describe("the scheduling part of the reference stack", () => {
  const stack = new SpoolStack(templateApp(), "Spool", {
    env: { account: "111111111111", region: "us-east-1" },
  });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  const ref = (c: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(c.node.defaultChild as never);

  it("lets the jobs worker send a blocked run back to the jobs queue (its requeue)", () => {
    // A backfilled or manual run of a skip-if-running job that finds the lock held is sent again,
    // delayed: without sqs:SendMessage AWS refuses it and the run ends in the DLQ (found by the
    // integration suite under MiniStack's AUTH=true).
    const { jobs, jobsWorker } = stack.scheduling;
    const role = ref(jobsWorker.function.role as never);
    const statements = Object.values(resources)
      .filter(
        (r) =>
          r.Type === "AWS::IAM::Policy" &&
          JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: role }]),
      )
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    const onJobsQueue = statements
      .filter(
        (s) =>
          JSON.stringify(s.Resource) === JSON.stringify({ "Fn::GetAtt": [ref(jobs.queue), "Arn"] }),
      )
      .flatMap((s) => [s.Action].flat());
    expect(onJobsQueue).toContain("sqs:SendMessage");
  });

  it("gives the delayed tasks a payload store that the scheduler writes and the reminders consumer reads", () => {
    const { tasks, taskPayloads, cartRemindersConsumer, largeTasks } = stack.scheduling;
    expect(tasks.payloadStore).toBe(taskPayloads);
    const bucket = { Ref: ref(taskPayloads.bucket) };
    const variables = (fn: { node: { defaultChild?: unknown } }) => {
      const resource = resources[ref(fn)];
      if (!resource) throw new Error(`no resource for ${ref(fn)}`);
      return (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    };
    expect(variables(stack.messaging.orderEventsConsumer.function)).toMatchObject({
      SPOOL_TASKS_PAYLOAD_BUCKET: bucket,
      SPOOL_TASKS_MAX_DELAY_SECONDS: "172800",
    });
    expect(variables(cartRemindersConsumer.function)).toMatchObject({
      SPOOL_PAYLOAD_BUCKET: bucket,
    });
    // 33 days: longer than maxDelay + taskRetention (2 + 30 days).
    expect(taskPayloads.expiration.toDays()).toBe(33);
    // The large-tasks target is a test hook only.
    expect(largeTasks).toBeUndefined();
  });
});
