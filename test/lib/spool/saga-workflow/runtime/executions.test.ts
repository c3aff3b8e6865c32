import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { PermanentError } from "../../../../../lib/spool/runtime/errors.js";
import {
  executionArnFor,
  executionNameFor,
  MAX_EXECUTION_NAME,
  startExecutionIdempotently,
  statesFromHistory,
} from "../../../../../lib/spool/saga-workflow/runtime/executions.js";

const sfnMock = mockClient(SFNClient);
const sfn = new SFNClient({ region: "us-east-1" });
const SM = "arn:aws:states:us-east-1:123456789012:stateMachine:Fulfilment";
const ARN = "arn:aws:states:us-east-1:123456789012:execution:Fulfilment:o-1";
const alreadyExists = () =>
  new ExecutionAlreadyExists({ message: `Execution already exists: '${ARN}'`, $metadata: {} });

beforeEach(() => sfnMock.reset());

describe("executionNameFor", () => {
  it("keeps a safe business key as it is", () => {
    expect(executionNameFor("order-42_A")).toBe("order-42_A");
  });

  it("maps any other key to a safe, bounded, deterministic name without collisions", () => {
    const keys = ["a/b", "a:b", "a b", `x${"y".repeat(200)}`, "ünïcødé", "a".repeat(81)];
    const names = keys.map(executionNameFor);
    for (const name of names) {
      expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(name.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME);
    }
    expect(new Set(names).size).toBe(keys.length);
    expect(keys.map(executionNameFor)).toEqual(names);
    expect(names[0]).toMatch(/^a_b-[0-9a-f]{16}$/);
  });

  it("refuses an empty key", () => {
    expect(() => executionNameFor("")).toThrow("must not be empty");
  });
});

describe("executionArnFor", () => {
  it("turns a state machine ARN and a name into the execution's ARN", () => {
    expect(executionArnFor(SM, "o-1")).toBe(ARN);
    expect(() => executionArnFor("arn:aws:sqs:us-east-1:1:q", "x")).toThrow("not a state machine");
  });
});

describe("startExecutionIdempotently", () => {
  const start = (input: unknown, sameWork?: (a: unknown, b: unknown) => boolean) =>
    startExecutionIdempotently({
      sfn,
      stateMachineArn: SM,
      name: "o-1",
      input,
      ...(sameWork ? { sameWork } : {}),
    });

  it("starts a new execution under the given name", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date() });
    expect(await start({ b: 1, a: 2 })).toEqual({ status: "started", executionArn: ARN });
    expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: SM,
      name: "o-1",
      input: '{"b":1,"a":2}',
    });
    expect(sfnMock.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it("answers a repeated start of the same work with the existing execution", async () => {
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: ARN })
      .resolves({ executionArn: ARN, status: "SUCCEEDED", input: '{"a":2,"b":1}' });
    expect(await start({ b: 1, a: 2 })).toEqual({
      status: "duplicate",
      executionArn: ARN,
      executionStatus: "SUCCEEDED",
    });
  });

  it("compares only what the caller says is the work", async () => {
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ status: "RUNNING", input: '{"order":1,"correlationId":"old"}' });
    const sameOrder = (a: unknown, b: unknown) =>
      (a as { order: number }).order === (b as { order: number }).order;
    expect((await start({ order: 1, correlationId: "new" }, sameOrder)).status).toBe("duplicate");
  });

  it("refuses the same name for different work as a permanent failure", async () => {
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING", input: '{"amount":1}' });
    const attempt = start({ amount: 2 });
    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toMatchObject({
      code: "EXECUTION_NAME_REUSED",
      details: { executionArn: ARN, executionStatus: "RUNNING", existingInput: '{"amount":1}' },
    });
  });

  it("recognises ExecutionAlreadyExists by name too (a differently bundled SDK)", async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error("exists"), { name: "ExecutionAlreadyExists" }));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING", input: "{}" });
    expect((await start({})).status).toBe("duplicate");
  });

  it("lets throttling and other errors through, to be retried", async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error("slow down"), { name: "ThrottlingException" }));
    await expect(start({})).rejects.toThrow("slow down");
  });
});

describe("statesFromHistory", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  it("folds optimized-integration and Lambda-ARN events into visits with failures and results", () => {
    const events: HistoryEvent[] = [
      { type: "ExecutionStarted", timestamp: at(0), id: 1 },
      {
        type: "TaskStateEntered",
        timestamp: at(1),
        id: 2,
        stateEnteredEventDetails: { name: "reserve" },
      },
      {
        type: "TaskFailed",
        timestamp: at(2),
        id: 3,
        taskFailedEventDetails: {
          resourceType: "lambda",
          resource: "invoke",
          error: "Runtime.HandlerError",
          cause: "flaky",
        },
      },
      {
        type: "TaskSucceeded",
        timestamp: at(3),
        id: 4,
        taskSucceededEventDetails: {
          resourceType: "lambda",
          resource: "invoke",
          output: '{"outcome":"ok"}',
        },
      },
      {
        type: "TaskStateExited",
        timestamp: at(3),
        id: 5,
        stateExitedEventDetails: { name: "reserve" },
      },
      {
        type: "TaskStateEntered",
        timestamp: at(4),
        id: 6,
        stateEnteredEventDetails: { name: "charge" },
      },
      {
        type: "LambdaFunctionTimedOut",
        timestamp: at(5),
        id: 7,
        lambdaFunctionTimedOutEventDetails: { error: "States.Timeout", cause: "" },
      },
      {
        type: "LambdaFunctionSucceeded",
        timestamp: at(6),
        id: 8,
        lambdaFunctionSucceededEventDetails: { output: '{"outcome":"rejected"}' },
      },
      {
        type: "ChoiceStateEntered",
        timestamp: at(7),
        id: 9,
        stateEnteredEventDetails: { name: "Check charge" },
      },
    ];
    const visits = statesFromHistory(events);
    expect(visits.map((v) => [v.name, v.type])).toEqual([
      ["reserve", "Task"],
      ["charge", "Task"],
      ["Check charge", "Choice"],
    ]);
    expect(visits[0]).toMatchObject({
      enteredAt: at(1).toISOString(),
      exitedAt: at(3).toISOString(),
      failures: [{ error: "Runtime.HandlerError", cause: "flaky", at: at(2).toISOString() }],
      result: '{"outcome":"ok"}',
    });
    expect(visits[1]?.failures).toEqual([
      { error: "States.Timeout", cause: "", at: at(5).toISOString() },
    ]);
    expect(visits[1]?.exitedAt).toBeUndefined();
    expect(visits[1]?.result).toBe('{"outcome":"rejected"}');
  });
});
