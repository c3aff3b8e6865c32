import { fileURLToPath } from "node:url";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AttributeType, Table } from "aws-cdk-lib/aws-dynamodb";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import { RecurringJob, RecurringJobTarget } from "../../../../lib/spool/recurring-job/index.js";
import { SpoolValidationError } from "../../../../lib/spool/runtime/validation.js";
import {
  estimateEnvironmentBytes,
  estimateValueBytes,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
} from "../../../../lib/spool/spool-function/environment-size.js";
import { SpoolFunction } from "../../../../lib/spool/spool-function/index.js";
import { thrownBy } from "../../../helpers/errors.js";

const entry = fileURLToPath(new URL("../../../helpers/fixtures/noop-handler.ts", import.meta.url));

function stackWithoutBundling(): Stack {
  // The check reads the template, not the code: skip esbuild.
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  return new Stack(app, "Spool", { env: { account: "111111111111", region: "us-east-1" } });
}

/** A worker serving `count` recurring jobs, each with its own runs table (as jobs default to). */
function workerWithJobs(count: number): Stack {
  const stack = stackWithoutBundling();
  const target = RecurringJobTarget.queue({
    queue: new Queue(stack, "Jobs"),
    deadLetterQueue: new Queue(stack, "JobsDlq"),
    fifo: false,
  });
  const worker = new SpoolFunction(stack, "Worker", { entry, timeout: Duration.minutes(1) });
  for (let i = 0; i < count; i++) {
    new RecurringJob(stack, `Job${i}`, {
      jobName: `reconcile-region-${i}`,
      schedule: ScheduleExpression.rate(Duration.hours(1)),
      target,
    }).bindWorker(worker);
  }
  return stack;
}

describe("SpoolFunction environment size (Lambda's 4 KB)", () => {
  it("lets a worker serve a handful of recurring jobs", () => {
    const stack = workerWithJobs(5);
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  it("refuses at synth a worker whose jobs would pass 4 KB, naming the function and the size", () => {
    const error = thrownBy(() => Template.fromStack(workerWithJobs(10)));
    expect(error).toBeInstanceOf(SpoolValidationError);
    expect(error).toMatchObject({ constructPath: "Spool/Worker" });
    expect((error as Error).message).toMatch(
      /^Spool\/Worker: environment must total at most 4096 bytes \(keys and values, references counted at their longest\), got about \d{4} bytes; largest: SPOOL_RECURRING_JOBS \d{4} B/,
    );
  });

  it("holds a worker that is a plain lambda.Function to the same limit", () => {
    const stack = stackWithoutBundling();
    const target = RecurringJobTarget.queue({
      queue: new Queue(stack, "Jobs"),
      deadLetterQueue: new Queue(stack, "JobsDlq"),
      fifo: false,
    });
    const worker = new LambdaFunction(stack, "PlainWorker", {
      runtime: Runtime.NODEJS_24_X,
      handler: "index.handler",
      code: Code.fromInline("exports.handler = async () => ({})"),
      timeout: Duration.minutes(1),
    });
    for (let i = 0; i < 10; i++) {
      new RecurringJob(stack, `Job${i}`, {
        jobName: `reconcile-region-${i}`,
        schedule: ScheduleExpression.rate(Duration.hours(1)),
        target,
      }).bindWorker(worker);
    }
    const error = thrownBy(() => Template.fromStack(stack));
    expect(error).toMatchObject({ constructPath: "Spool/PlainWorker" });
    expect((error as Error).message).toContain("largest: SPOOL_RECURRING_JOBS");
  });

  it("counts plain variables byte for byte, keys included", () => {
    const stack = stackWithoutBundling();
    const value = "é".repeat(2_050); // 2 050 characters, 4 100 bytes in UTF-8
    new SpoolFunction(stack, "Big", { entry, environment: { BIG: value } });
    const error = thrownBy(() => Template.fromStack(stack));
    expect((error as Error).message).toContain(
      "got about 4135 bytes; largest: BIG 4103 B, NODE_OPTIONS 32 B",
    );
    const fits = stackWithoutBundling();
    new SpoolFunction(fits, "Fits", { entry, environment: { BIG: "x".repeat(4_000) } });
    expect(() => Template.fromStack(fits)).not.toThrow();
  });
});

describe("estimating a reference before deployment", () => {
  const stack = stackWithoutBundling();
  const table = new Table(stack, "Runs", {
    partitionKey: { name: "pk", type: AttributeType.STRING },
  });
  const queue = new Queue(stack, "Q", { queueName: "q".repeat(80) });
  const logicalId = (c: Table | Queue) =>
    stack.resolve((c.node.defaultChild as unknown as { logicalId: string }).logicalId);

  it("counts a generated name as <stack>-<logical id>-<13 characters>", () => {
    const id = logicalId(table);
    expect(estimateValueBytes({ Ref: id }, stack)).toBe("Spool".length + 1 + id.length + 14);
  });

  it("counts an ARN as an 80-character prefix on the longer of the fixed and generated name", () => {
    expect(estimateValueBytes({ "Fn::GetAtt": [logicalId(queue), "Arn"] }, stack)).toBe(80 + 80);
  });

  it("counts pseudo parameters at their longest and joins with their separators", () => {
    const joined = {
      "Fn::Join": [":", ["arn", { Ref: "AWS::Partition" }, { Ref: "AWS::Region" }]],
    };
    expect(estimateValueBytes(joined, stack)).toBe(3 + 10 + 14 + 2);
    expect(estimateValueBytes({ Ref: "AWS::StackName" }, stack)).toBe(5);
  });

  it("counts what it cannot see through at 256 bytes, and sums keys and values", () => {
    expect(estimateValueBytes({ "Fn::ImportValue": "x" }, stack)).toBe(256);
    expect(estimateEnvironmentBytes({ A: "bc", DE: { Ref: "Nowhere" } }, stack)).toBe(
      1 + 2 + 2 + 256,
    );
    expect(LAMBDA_ENVIRONMENT_LIMIT_BYTES).toBe(4096);
  });
});
