import { fileURLToPath } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { JobTable } from "../../../../lib/spool/job-table/index.js";
import {
  QueueConsumer,
  type QueueConsumerProps,
} from "../../../../lib/spool/queue-consumer/index.js";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import { expectRefusal } from "../../../helpers/errors.js";

const entry = fileURLToPath(new URL("../../../helpers/fixtures/noop-handler.ts", import.meta.url));

/** Validation and template only: bundling skipped (CDK's `aws:cdk:bundling-stacks` context). */
function build(props: Partial<QueueConsumerProps> & { withJobs?: boolean; kind?: string } = {}) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Test", { env: { account: "111111111111", region: "us-east-1" } });
  const queue = new ReliableQueue(stack, "Work");
  const jobs = new JobTable(stack, "Jobs");
  const { withJobs = true, kind, ...rest } = props;
  const consumer = new QueueConsumer(stack, "Consumer", {
    source: queue,
    entry,
    consumerName: "exports",
    ...(withJobs ? { jobs: { table: jobs.table, ...(kind !== undefined ? { kind } : {}) } } : {}),
    ...rest,
  });
  return { stack, jobs, consumer, template: Template.fromStack(stack) };
}

const variables = (template: Template) =>
  Object.values(template.findResources("AWS::Lambda::Function"))[0]?.Properties.Environment
    .Variables as Record<string, unknown>;

interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}
const statements = (template: Template): Statement[] =>
  Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Statement[],
  );

describe("QueueConsumer jobs", () => {
  it("writes the job table and the kind into the function's environment", () => {
    const { stack, jobs, template } = build({ kind: "export" });
    expect(variables(template)).toMatchObject({
      SPOOL_JOBS_TABLE: stack.resolve(jobs.table.tableName),
      SPOOL_JOB_KIND: "export",
    });
    // The kind defaults to the consumer name.
    expect(variables(build().template).SPOOL_JOB_KIND).toBe("exports");
  });

  it("grants GetItem and UpdateItem on its own jobs only (ids <kind>:…), nothing else", () => {
    const { stack, jobs, template } = build({ kind: "export" });
    const arn = JSON.stringify(stack.resolve(jobs.table.tableArn));
    const onJobs = statements(template).filter((s) => JSON.stringify(s.Resource).includes(arn));
    expect(onJobs).toEqual([
      {
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        Resource: stack.resolve(jobs.table.tableArn),
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["export:*"] } },
      },
    ]);
  });

  it("is off by default: no job variables, no grant on a job table", () => {
    const { template } = build({ withJobs: false });
    expect(Object.keys(variables(template)).filter((k) => k.includes("JOB"))).toEqual([]);
    expect(JSON.stringify(statements(template))).not.toContain('LeadingKeys":["exports:*');
  });

  it.each([
    [
      "a:b",
      "jobs.kind must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit (job ids are <kind>:<key>), got \"a:b\"",
    ],
    [
      "",
      "jobs.kind must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit (job ids are <kind>:<key>), got \"\"",
    ],
  ])("refuses the kind %j, naming the construct, the prop and the value", (kind, message) => {
    expectRefusal(() => build({ kind }), "Test/Consumer", message);
  });

  it("refuses a consumer name that cannot be the default kind, saying so", () => {
    expectRefusal(
      () => build({ consumerName: "billing:eu" }),
      "Test/Consumer",
      "jobs.kind (defaulting to consumerName) must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit (job ids are <kind>:<key>), got \"billing:eu\"",
    );
  });
});
