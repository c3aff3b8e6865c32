import { Logger } from "@aws-lambda-powertools/logger";
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import {
  answerWaitingStep,
  sendStepHeartbeat,
  waitForApproval,
} from "../../../../../lib/spool/saga-workflow/runtime/callback.js";
import {
  createSagaStepHandler,
  type StepContext,
} from "../../../../../lib/spool/saga-workflow/runtime/saga-step.js";

const ddb = mockClient(DynamoDBDocumentClient);
const sfnMock = mockClient(SFNClient);
const sfn = new SFNClient({ region: "us-east-1" });
const store = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
  table: "jobs",
};
const logger = new Logger({ logLevel: "SILENT" });
const EXECUTION = "arn:aws:states:us-east-1:1:execution:approval:r-1";

const ctx = (extra: Partial<StepContext> = {}): StepContext => ({
  step: "approval",
  phase: "action",
  attempt: 1,
  execution: EXECUTION,
  correlationId: "c",
  jobId: "approval:r-1",
  results: {},
  failure: undefined,
  taskToken: "tok",
  logger,
  ...extra,
});

beforeEach(() => {
  ddb.reset();
  sfnMock.reset();
});

describe("waitForApproval", () => {
  const ask = waitForApproval<{ id: string }>(store, (r) => `approve ${r.id}?`);

  it("parks the token and the question on the job, then hands back ok", async () => {
    ddb.on(UpdateCommand).resolves({});
    await expect(ask({ id: "r-1" }, ctx())).resolves.toEqual({ outcome: "ok", waiting: true });
    expect(
      ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues?.[":waiting"],
    ).toMatchObject({
      step: "approval",
      execution: EXECUTION,
      taskToken: "tok",
      question: "approve r-1?",
    });
  });

  it("fails the step at once when the job no longer runs in this execution", async () => {
    ddb
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "no", $metadata: {} }));
    await expect(ask({ id: "r-1" }, ctx())).rejects.toMatchObject({ code: "JOB_NOT_WAITING" });
  });

  it("refuses a step declared without callback or a workflow without a job table", async () => {
    await expect(ask({ id: "r-1" }, ctx({ taskToken: undefined }))).rejects.toThrow(
      "declare it with callback: true",
    );
    await expect(ask({ id: "r-1" }, ctx({ jobId: undefined }))).rejects.toThrow(
      "give the workflow a jobTable",
    );
  });
});

describe("answerWaitingStep", () => {
  it("approves with SendTaskSuccess and an ok outcome naming who approved", async () => {
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    await expect(
      answerWaitingStep(sfn, "tok", { approved: true, by: "arn:op", reason: "fine" }),
    ).resolves.toBe("answered");
    const input = sfnMock.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input;
    expect(input?.taskToken).toBe("tok");
    expect(JSON.parse(input?.output ?? "")).toEqual({
      outcome: "ok",
      approvedBy: "arn:op",
      reason: "fine",
    });
  });

  it("rejects with SendTaskFailure Spool.Rejected, which the saga never retries", async () => {
    sfnMock.on(SendTaskFailureCommand).resolves({});
    await answerWaitingStep(sfn, "tok", { approved: false, by: "arn:op", reason: "too much" });
    expect(sfnMock.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toEqual({
      taskToken: "tok",
      error: "Spool.Rejected",
      cause: "rejected by arn:op: too much",
    });
  });

  it("reports a token that no longer waits (answered, timed out) instead of throwing", async () => {
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejectsOnce(new TaskTimedOut({ message: "timed out", $metadata: {} }))
      .rejectsOnce(new TaskDoesNotExist({ message: "gone", $metadata: {} }))
      .rejectsOnce(new Error("network down"));
    const approve = () => answerWaitingStep(sfn, "tok", { approved: true, by: "op" });
    await expect(approve()).resolves.toBe("not-waiting");
    await expect(approve()).resolves.toBe("not-waiting");
    await expect(approve()).rejects.toThrow("network down");
  });

  it("sends heartbeats for a step with heartbeat", async () => {
    sfnMock.on(SendTaskHeartbeatCommand).resolves({});
    await expect(sendStepHeartbeat(sfn, "tok")).resolves.toBe("answered");
    expect(sfnMock.commandCalls(SendTaskHeartbeatCommand)[0]?.args[0].input).toEqual({
      taskToken: "tok",
    });
  });
});

describe("a callback step's handler", () => {
  const handler = createSagaStepHandler<{ id: string }>(
    {
      schema: z.object({ id: z.string() }),
      actions: {
        approval: async (_r, c) => ({ outcome: "ok", token: c.taskToken }),
        refuse: async () => ({ outcome: "rejected", code: "NO_APPROVER", reason: "nobody to ask" }),
      },
      compensations: {},
    },
    { faults: undefined, logger },
  );
  const payload = (step: string, extra: Record<string, unknown> = {}) => ({
    step,
    phase: "action",
    jobId: "approval:r-1",
    correlationId: "c",
    request: { id: "r-1" },
    results: {},
    execution: EXECUTION,
    retryCount: 0,
    taskToken: "tok",
    ...extra,
  });

  it("gives the action the task token", async () => {
    await expect(handler(payload("approval"))).resolves.toEqual({ outcome: "ok", token: "tok" });
  });

  it("throws a no instead of returning it: Step Functions ignores the result and would wait", async () => {
    await expect(handler(payload("refuse"))).rejects.toMatchObject({
      name: "PermanentError",
      code: "CALLBACK_NOT_HANDED_ON",
    });
    await expect(handler(payload("approval", { request: { id: 7 } }))).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
    await expect(handler(payload("approval", { results: "x" }))).rejects.toMatchObject({
      code: "INVALID_PAYLOAD",
    });
  });
});
