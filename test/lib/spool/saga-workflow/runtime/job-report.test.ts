import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { describeJob } from "../../../../../lib/spool/saga-workflow/runtime/job-report.js";

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
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

beforeEach(() => {
  ddbMock.reset();
  sfnMock.reset();
});

describe("describeJob", () => {
  it("merges the job's transitions and the execution's steps into one timeline", async () => {
    ddbMock.on(GetCommand).resolves({
      Item: {
        jobId: "order-fulfilment:o-1",
        status: "COMPENSATED",
        executionArn: ARN,
        createdAt: t(0).toISOString(),
        updatedAt: t(9).toISOString(),
        transitions: [
          { status: "PENDING", at: t(0).toISOString(), by: "starter" },
          { status: "RUNNING", at: t(1).toISOString(), by: "workflow" },
          { status: "COMPENSATING", at: t(5).toISOString(), by: "workflow" },
          { status: "COMPENSATED", at: t(8).toISOString(), by: "workflow" },
        ],
      },
    });
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: ARN,
      status: "FAILED",
      startDate: t(1),
      stopDate: t(9),
      error: "COMPENSATED",
    });
    const task = (id: number, s: number, name: string, output?: string) => [
      { id, type: "TaskStateEntered", timestamp: t(s), stateEnteredEventDetails: { name } },
      ...(output
        ? [
            {
              id: id + 1,
              type: "TaskSucceeded",
              timestamp: t(s),
              taskSucceededEventDetails: { output },
            },
          ]
        : []),
      { id: id + 2, type: "TaskStateExited", timestamp: t(s), stateExitedEventDetails: { name } },
    ];
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        ...task(1, 1, "Record RUNNING", "{}"),
        ...task(10, 2, "reserve", '{"outcome":"ok"}'),
        {
          id: 20,
          type: "TaskStateEntered",
          timestamp: t(3),
          stateEnteredEventDetails: { name: "charge" },
        },
        {
          id: 21,
          type: "TaskFailed",
          timestamp: t(3),
          taskFailedEventDetails: { error: "E", cause: "" },
        },
        {
          id: 22,
          type: "TaskSucceeded",
          timestamp: t(4),
          taskSucceededEventDetails: { output: '{"outcome":"rejected","code":"PAYMENT_DECLINED"}' },
        },
        {
          id: 23,
          type: "TaskStateExited",
          timestamp: t(4),
          stateExitedEventDetails: { name: "charge" },
        },
        ...task(30, 6, "Undo reserve", '{"outcome":"compensated"}'),
      ] as HistoryEvent[],
    });
    const report = await describeJob(deps, "order-fulfilment:o-1");
    expect(report.job?.status).toBe("COMPENSATED");
    expect(report.execution?.status).toBe("FAILED");
    expect(report.timeline.map((e) => [e.source, e.event, e.detail])).toEqual([
      ["job", "PENDING", "starter"],
      ["job", "RUNNING", "workflow"],
      ["workflow", "reserve", "ok"],
      ["workflow", "charge", "rejected PAYMENT_DECLINED; 1 failed attempt"],
      ["job", "COMPENSATING", "workflow"],
      ["workflow", "Undo reserve", "compensated"],
      ["job", "COMPENSATED", "workflow"],
      ["workflow", "execution FAILED", "COMPENSATED"],
    ]);
  });

  it("answers for a job that never ran, and one nobody recorded", async () => {
    ddbMock.on(GetCommand).resolvesOnce({
      Item: {
        jobId: "j",
        status: "DEAD_LETTERED",
        transitions: [{ status: "DEAD_LETTERED", at: t(0).toISOString(), by: "starter" }],
      },
    });
    const parked = await describeJob(deps, "j");
    expect(parked.execution).toBeUndefined();
    expect(parked.timeline).toHaveLength(1);
    ddbMock.on(GetCommand).resolves({});
    const unknown = await describeJob(deps, "nobody");
    expect(unknown.job).toBeUndefined();
    expect(unknown.timeline).toEqual([]);
  });
});
