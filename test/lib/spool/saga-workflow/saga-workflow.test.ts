import { App, Duration, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { AttributeType, Table } from "aws-cdk-lib/aws-dynamodb";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { transitionCondition } from "../../../../lib/spool/job-table/job-states.js";
import {
  type SagaStep,
  SagaWorkflow,
  type SagaWorkflowProps,
} from "../../../../lib/spool/saga-workflow/index.js";

type State = Record<string, unknown> & {
  Type: string;
  Next?: string;
  Retry?: Record<string, unknown>[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Choices?: Record<string, unknown>[];
  Default?: string;
  Parameters?: Record<string, unknown>;
};
type Definition = { StartAt: string; States: Record<string, State> };

function fn(stack: Stack, id: string) {
  return new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: Code.fromInline("exports.handler = async () => ({ outcome: 'ok' })"),
  });
}

function build(
  options: { jobs?: boolean; steps?: (stack: Stack) => SagaStep[] } & Partial<
    Omit<SagaWorkflowProps, "steps" | "jobTable">
  > = {},
) {
  const { jobs = true, steps, ...rest } = options;
  const app = new App();
  const stack = new Stack(app, "Test", { env: { account: "111111111111", region: "eu-west-1" } });
  const table = jobs
    ? new Table(stack, "Jobs", { partitionKey: { name: "jobId", type: AttributeType.STRING } })
    : undefined;
  const saga = new SagaWorkflow(stack, "Saga", {
    steps: steps?.(stack) ?? [
      { name: "reserve", function: fn(stack, "Reserve"), compensation: fn(stack, "Release") },
      { name: "charge", function: fn(stack, "Charge"), compensation: fn(stack, "Refund") },
      { name: "confirm", function: fn(stack, "Confirm") },
      { name: "notify", function: fn(stack, "Notify") },
    ],
    ...(table ? { jobTable: table } : {}),
    ...rest,
  });
  const template = Template.fromStack(stack);
  return { stack, saga, template, definition: definitionOf(template) };
}

function definitionOf(template: Template): Definition {
  const [machine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
  if (!machine) throw new Error("no state machine in the template");
  const body = (machine.Properties as { DefinitionString: unknown }).DefinitionString as {
    "Fn::Join": [string, unknown[]];
  };
  const text = body["Fn::Join"][1].map((p) => (typeof p === "string" ? p : "TOKEN")).join("");
  return JSON.parse(text) as Definition;
}

function state(definition: Definition, name: string): State {
  const s = definition.States[name];
  if (!s) throw new Error(`no state "${name}" in ${Object.keys(definition.States).join(", ")}`);
  return s;
}

/** The names visited from `start` following Next until a state without one. */
function path(definition: Definition, start: string): string[] {
  const names = [start];
  let current = state(definition, start);
  while (current.Next) {
    names.push(current.Next);
    current = state(definition, current.Next);
  }
  return names;
}

describe("SagaWorkflow: the state machine", () => {
  const { definition, template } = build();

  it("is a Standard state machine with logging ALL, tracing and a timeout", () => {
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineType: "STANDARD",
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: "ALL",
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: Match.stringLikeRegexp("^/aws/vendedlogs/states/"),
      RetentionInDays: 30,
    });
    expect((definition as unknown as { TimeoutSeconds: number }).TimeoutSeconds).toBe(3600);
  });

  it("retries every step's thrown errors with bounded, capped, fully jittered backoff, never a PermanentError", () => {
    for (const name of ["reserve", "charge", "confirm", "notify"]) {
      const task = state(definition, name);
      expect(task.Retry).toEqual([
        { ErrorEquals: ["PermanentError"], MaxAttempts: 0 },
        {
          ErrorEquals: ["States.TaskFailed", "States.Timeout"],
          IntervalSeconds: 2,
          BackoffRate: 2,
          MaxAttempts: 3,
          MaxDelaySeconds: 30,
          JitterStrategy: "FULL",
        },
      ]);
      expect(task.Catch).toEqual([
        { ErrorEquals: ["States.ALL"], ResultPath: "$.caught", Next: `${name} errored` },
      ]);
      // The payload carries the retry count (fault injection fails attempts deterministically).
      expect(task.Parameters).toMatchObject({
        step: name,
        phase: "action",
        "retryCount.$": "$$.State.RetryCount",
        "execution.$": "$$.Execution.Id",
      });
      expect(task.ResultPath).toBe(`$.results.${name}`);
    }
  });

  it("routes business outcomes with a Choice instead of retrying them", () => {
    const check = state(definition, "Check charge");
    const targets = (check.Choices ?? []).map((c) => c.Next);
    expect(targets).toEqual([
      "charge returned no outcome",
      "confirm",
      "charge rejected",
      "charge failed",
    ]);
    expect(check.Default).toBe("charge returned no outcome");
    expect(JSON.stringify(check.Choices?.[2])).toContain('"StringEquals":"rejected"');
  });

  it("compensates only earlier steps after a rejection, the step itself too after a failure", () => {
    const from = (s: string) =>
      (state(definition, s).Parameters as { compensateFrom: string }).compensateFrom;
    expect(from("reserve rejected")).toBe("none");
    expect(from("reserve failed")).toBe("reserve");
    expect(from("charge rejected")).toBe("reserve");
    expect(from("charge failed")).toBe("charge");
    expect(from("charge errored")).toBe("charge");
    expect(from("charge returned no outcome")).toBe("charge");
    // confirm and notify have nothing to undo: compensation starts at the last step that has.
    expect(from("confirm failed")).toBe("charge");
    expect(from("notify errored")).toBe("charge");
    expect(state(definition, "charge failed").Parameters).toMatchObject({
      step: "charge",
      kind: "failed",
      "error.$": "States.Format('{}', $.results.charge.code)",
    });
  });

  it("runs compensations newest first, each once, then ends COMPENSATED", () => {
    const dispatch = state(definition, "Compensate from");
    expect((dispatch.Choices ?? []).map((c) => [c.StringEquals, c.Next])).toEqual([
      ["reserve", "Undo reserve"],
      ["charge", "Undo charge"],
    ]);
    expect(path(definition, "Undo charge")).toEqual([
      "Undo charge",
      "Undo reserve",
      "Record COMPENSATED",
      "Compensated",
    ]);
    expect(state(definition, "Compensated")).toMatchObject({
      Type: "Fail",
      Error: "COMPENSATED",
      CausePath: "States.JsonToString($.failure)",
    });
    const undo = state(definition, "Undo charge");
    expect(undo.Parameters).toMatchObject({ phase: "compensation", "failure.$": "$.failure" });
    expect(undo.Retry?.[1]).toMatchObject({
      MaxAttempts: 8,
      MaxDelaySeconds: 120,
      JitterStrategy: "FULL",
    });
    expect(path(definition, undo.Catch?.[0]?.Next ?? "")).toEqual([
      "Undo charge failed",
      "Record FAILED",
      "Compensation failed",
    ]);
    expect(state(definition, "Compensation failed").Error).toBe("COMPENSATION_FAILED");
  });

  it("records the job with conditions taken from the shared transition table", () => {
    for (const [name, status] of [
      ["Record RUNNING", "RUNNING"],
      ["Record SUCCEEDED", "SUCCEEDED"],
      ["Record COMPENSATING", "COMPENSATING"],
      ["Record COMPENSATED", "COMPENSATED"],
      ["Record FAILED", "FAILED"],
    ] as const) {
      const task = state(definition, name);
      const parameters = task.Parameters as Record<string, unknown>;
      expect(parameters.ConditionExpression).toBe(transitionCondition(status).expression);
      expect(parameters.Key).toEqual({ jobId: { "S.$": "$.jobId" } });
      expect(task.Resource).toMatch(/:states:::dynamodb:updateItem$/);
    }
    expect(path(definition, "Record RUNNING")[1]).toBe("reserve");
    expect(state(definition, "Record RUNNING").Catch).toEqual([
      {
        ErrorEquals: ["DynamoDB.ConditionalCheckFailedException"],
        ResultPath: "$.jobConflict",
        Next: "Job not runnable",
      },
    ]);
    // Effects are undone whatever the job table answers.
    expect(state(definition, "Record COMPENSATING").Catch?.[0]).toMatchObject({
      ErrorEquals: ["States.ALL"],
      Next: "Compensate from",
    });
    const lastOk = (state(definition, "Check notify").Choices ?? [])[1];
    expect(lastOk).toMatchObject({ StringEquals: "ok", Next: "Record SUCCEEDED" });
    expect(path(definition, "Record SUCCEEDED")).toEqual(["Record SUCCEEDED", "Succeeded"]);
    expect(state(definition, "Record SUCCEEDED").Catch?.[0]?.Next).toBe("Job state conflict");
  });

  it("refuses input without its fields before doing anything", () => {
    expect(definition.StartAt).toBe("Validate input");
    expect(state(definition, "Validate input").Default).toBe("Invalid input");
    expect(state(definition, "Invalid input").Error).toBe("INVALID_INPUT");
  });

  it("alarms on failed, timed-out and aborted executions with plain metrics", () => {
    for (const metric of ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/States",
        MetricName: metric,
        Dimensions: [{ Name: "StateMachineArn", Value: Match.anyValue() }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
        Metrics: Match.absent(),
      });
    }
  });

  it("keeps status events the listener fails on in a dead-letter queue", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      DeadLetterConfig: { TargetArn: Match.anyValue() },
      Environment: { Variables: { JOBS_TABLE: Match.anyValue() } },
    });
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      MaximumRetryAttempts: 2,
    });
  });

  it("listens for executions that end without recording their job", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        detail: { status: ["FAILED", "TIMED_OUT", "ABORTED"] },
      },
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
  });
});

describe("SagaWorkflow: options", () => {
  it("without a job table records nothing and needs no jobId", () => {
    const { definition, template } = build({ jobs: false });
    expect(Object.keys(definition.States).some((n) => n.startsWith("Record "))).toBe(false);
    expect(state(definition, "reserve").Parameters).not.toHaveProperty("jobId.$");
    expect(path(definition, "Undo charge").at(-1)).toBe("Compensated");
    template.resourceCountIs("AWS::Events::Rule", 0);
  });

  it("passes fault directives to the steps only with faultInjection", () => {
    expect(state(build().definition, "reserve").Parameters).not.toHaveProperty("faults.$");
    const { definition } = build({ faultInjection: true });
    expect(state(definition, "reserve").Parameters).toMatchObject({ "faults.$": "$.faults" });
    expect(state(definition, "Prepare").Parameters).toMatchObject({ faults: {} });
  });

  it("takes retry policies, a step timeout and a per-step override", () => {
    const { definition } = build({
      steps: (stack) => [
        {
          name: "only",
          function: fn(stack, "Only"),
          compensation: fn(stack, "Undo"),
          retry: { maxAttempts: 5 },
        },
      ],
      stepRetry: { interval: Duration.seconds(1), maxDelay: Duration.seconds(4) },
      compensationRetry: { maxAttempts: 2 },
      stepTimeout: Duration.seconds(20),
    });
    expect(state(definition, "only").Retry?.[1]).toMatchObject({
      IntervalSeconds: 1,
      MaxAttempts: 5,
      MaxDelaySeconds: 4,
    });
    expect(state(definition, "only").TimeoutSeconds).toBe(20);
    expect(state(definition, "Undo only").Retry?.[1]).toMatchObject({ MaxAttempts: 2 });
  });

  it("warns when no step can be undone", () => {
    const { stack } = build({ steps: (s) => [{ name: "a", function: fn(s, "A") }] });
    Annotations.fromStack(stack).hasWarning(
      "*",
      Match.stringLikeRegexp("a failure undoes nothing"),
    );
  });

  it.each([
    [{ steps: () => [] }, "steps must hold at least one step, got none"],
    [
      { steps: (s: Stack) => [{ name: "a-b", function: fn(s, "A") }] },
      'steps[0].name must be 1–48 letters, digits or _ starting with a letter, got "a-b"',
    ],
    [
      {
        steps: (s: Stack) => [
          { name: "a", function: fn(s, "A") },
          { name: "a", function: fn(s, "B") },
        ],
      },
      'steps[1].name must be unique, got "a" twice',
    ],
    [
      { stepRetry: { interval: Duration.millis(500) } },
      "stepRetry.interval must be a whole number of seconds, at least 1, got 0.5 s",
    ],
    [
      { compensationRetry: { maxAttempts: 100 } },
      "compensationRetry.maxAttempts must be an integer from 0 to 99, got 100",
    ],
    [{ stepRetry: { backoffRate: 0.5 } }, "stepRetry.backoffRate must be at least 1, got 0.5"],
    [
      { stepRetry: { interval: Duration.seconds(10), maxDelay: Duration.seconds(5) } },
      "stepRetry.maxDelay must be at least the interval (10 s), got 5 s",
    ],
    [
      { timeout: Duration.minutes(1), stepTimeout: Duration.minutes(2) },
      "stepTimeout must not exceed timeout (60 s), got 120 s",
    ],
  ] as const)("fails synthesis on bad props: %j", (props, message) => {
    expect(() => build(props as never)).toThrow(message);
  });
});
