import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { JobRecord } from "../../../../../lib/spool/job-table/runtime/jobs.js";
import {
  clearWaitingStep,
  recordWaitingStep,
  waitingStepOf,
  withoutTaskToken,
} from "../../../../../lib/spool/job-table/runtime/waiting.js";

const ddb = mockClient(DynamoDBDocumentClient);
const store = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
  table: "jobs",
  now: () => new Date("2026-01-02T03:04:05.000Z"),
};
const EXECUTION = "arn:aws:states:us-east-1:1:execution:approval:r-1";
const refused = () => new ConditionalCheckFailedException({ message: "no", $metadata: {} });

function job(extra: Partial<JobRecord>): JobRecord {
  return {
    jobId: "approval:r-1",
    status: "RUNNING",
    createdAt: "2026-01-02T03:00:00.000Z",
    updatedAt: "2026-01-02T03:00:00.000Z",
    executionArn: EXECUTION,
    transitions: [],
    ...extra,
  };
}
const waiting = { step: "approval", execution: EXECUTION, taskToken: "tok", since: "t" };

beforeEach(() => ddb.reset());

describe("recordWaitingStep", () => {
  it("parks the step and its token on a job RUNNING in that execution", async () => {
    ddb.on(UpdateCommand).resolves({});
    const written = await recordWaitingStep(store, "approval:r-1", {
      step: "approval",
      execution: EXECUTION,
      taskToken: "tok",
      question: "approve?",
    });
    expect(written).toBe(true);
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TableName: "jobs",
      Key: { jobId: "approval:r-1" },
      UpdateExpression: "SET #waiting = :waiting, #updatedAt = :at",
      ConditionExpression: "#status = :running AND #executionArn = :execution",
      ExpressionAttributeValues: {
        ":waiting": {
          step: "approval",
          execution: EXECUTION,
          taskToken: "tok",
          question: "approve?",
          since: "2026-01-02T03:04:05.000Z",
        },
        ":running": "RUNNING",
        ":execution": EXECUTION,
      },
    });
  });

  it("writes nothing and says so when the job is not RUNNING in that execution", async () => {
    ddb.on(UpdateCommand).rejects(refused());
    await expect(
      recordWaitingStep(store, "approval:r-1", { step: "a", execution: EXECUTION, taskToken: "t" }),
    ).resolves.toBe(false);
  });

  it("lets other errors through", async () => {
    ddb.on(UpdateCommand).rejects(new Error("throttled"));
    await expect(
      recordWaitingStep(store, "approval:r-1", { step: "a", execution: EXECUTION, taskToken: "t" }),
    ).rejects.toThrow("throttled");
  });
});

describe("clearWaitingStep", () => {
  it("removes the entry only while it holds the answered token", async () => {
    ddb.on(UpdateCommand).resolvesOnce({}).rejectsOnce(refused());
    await expect(clearWaitingStep(store, "approval:r-1", "tok")).resolves.toBe(true);
    await expect(clearWaitingStep(store, "approval:r-1", "old")).resolves.toBe(false);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: "REMOVE #waiting",
      ConditionExpression: "#waiting.#taskToken = :token",
      ExpressionAttributeValues: { ":token": "tok" },
    });
  });
});

describe("waitingStepOf", () => {
  it("is the entry of a RUNNING job in the execution it names", () => {
    expect(waitingStepOf(job({ waiting }))).toEqual(waiting);
  });

  it.each([
    ["no entry", job({})],
    ["a finished job (its step timed out)", job({ status: "COMPENSATED", waiting })],
    ["an entry of an older execution", job({ waiting: { ...waiting, execution: "old" } })],
  ])("is nothing for %s", (_what, record) => {
    expect(waitingStepOf(record)).toBeUndefined();
  });
});

describe("withoutTaskToken", () => {
  it("hides the token and keeps the rest", () => {
    expect(withoutTaskToken(job({ waiting }))?.waiting).toEqual({
      ...waiting,
      taskToken: "(hidden)",
    });
    expect(withoutTaskToken(job({}))).toEqual(job({}));
    expect(withoutTaskToken(undefined)).toBeUndefined();
  });
});
