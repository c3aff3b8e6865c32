import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { JobRecord } from "../../../../../lib/spool/job-table/runtime/jobs.js";
import {
  statusAfter,
  syncJob,
} from "../../../../../lib/spool/saga-workflow/runtime/status-sync.js";

const ddbMock = mockClient(DynamoDBDocumentClient);
const sfnMock = mockClient(SFNClient);
const deps = {
  jobs: {
    db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
    table: "jobs",
  },
  sfn: new SFNClient({ region: "us-east-1" }),
};
const ARN = "arn:aws:states:us-east-1:1:execution:sm:o-1";
const job = (status: JobRecord["status"]) =>
  ({ jobId: "j-1", status, createdAt: "", updatedAt: "", transitions: [] }) as JobRecord;

beforeEach(() => {
  ddbMock.reset();
  sfnMock.reset();
});

describe("statusAfter", () => {
  it("cancels a stopped run, fails a timed-out or errored one, fails a half-compensated stop", () => {
    expect(statusAfter(job("RUNNING"), "ABORTED")).toBe("CANCELED");
    expect(statusAfter(job("COMPENSATING"), "ABORTED")).toBe("FAILED");
    expect(statusAfter(job("RUNNING"), "TIMED_OUT")).toBe("FAILED");
    expect(statusAfter(job("COMPENSATING"), "FAILED")).toBe("FAILED");
  });

  it("leaves jobs the state machine already finished, or never started, alone", () => {
    for (const status of ["SUCCEEDED", "COMPENSATED", "FAILED", "PENDING", "CANCELED"] as const) {
      expect(statusAfter(job(status), "FAILED")).toBeUndefined();
    }
    expect(statusAfter(job("RUNNING"), "SUCCEEDED")).toBeUndefined();
  });
});

describe("syncJob", () => {
  it("records a stopped execution's job as CANCELED with the execution's error", async () => {
    ddbMock.on(GetCommand).resolves({ Item: job("RUNNING") });
    ddbMock.on(UpdateCommand).resolves({ Attributes: {} });
    const result = await syncJob(
      { executionArn: ARN, status: "ABORTED", input: '{"jobId":"j-1"}', error: null, cause: null },
      deps,
    );
    expect(result).toEqual({ action: "recorded", jobId: "j-1", status: "CANCELED" });
    expect(
      ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues,
    ).toMatchObject({
      ":to": "CANCELED",
      ":executionArn": ARN,
      ":lastError": { error: "execution ABORTED", kind: "execution" },
    });
  });

  it("reads the input from the execution when the event left it out", async () => {
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: ARN })
      .resolves({ input: '{"jobId":"j-1"}' });
    ddbMock.on(GetCommand).resolves({ Item: job("SUCCEEDED") });
    const result = await syncJob({ executionArn: ARN, status: "FAILED", input: null }, deps);
    expect(result).toMatchObject({ action: "none", jobId: "j-1" });
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("does nothing for an execution without a job, and loses a race quietly", async () => {
    expect(await syncJob({ executionArn: ARN, status: "FAILED", input: "{}" }, deps)).toMatchObject(
      {
        action: "none",
      },
    );
    ddbMock.on(GetCommand).resolves({ Item: job("RUNNING") });
    ddbMock
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "no", $metadata: {} }));
    const raced = await syncJob(
      { executionArn: ARN, status: "FAILED", input: '{"jobId":"j-1"}' },
      deps,
    );
    expect(raced.action).toBe("none");
  });
});
