import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ApprovalRequest,
  finish,
  releaseSlot,
  reserveSlot,
} from "../../../lambdas/approval-steps/steps.js";
import type { StepContext } from "../../../lib/spool/saga-workflow/runtime/saga-step.js";

const ddb = mockClient(DynamoDBDocumentClient);
const deps = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
  table: "effects",
};
const ctx = (step: string, phase: "action" | "compensation"): StepContext => ({
  step,
  phase,
  attempt: 1,
  execution: "arn:exec",
  correlationId: "c",
  jobId: "approval:r-1",
  results: {},
  failure: undefined,
  logger: new Logger({ logLevel: "SILENT" }),
});

beforeEach(() => ddb.reset());

describe("approval saga steps", () => {
  it("count each call on its own row, so a test sees every step and undo ran once", async () => {
    ddb.on(UpdateCommand).resolves({});
    const request = ApprovalRequest.parse({ requestId: "r-1" });
    await expect(reserveSlot(request, ctx("reserveSlot", "action"), deps)).resolves.toEqual({
      outcome: "ok",
      slot: "slot-r-1",
    });
    await releaseSlot(request, ctx("reserveSlot", "compensation"), deps);
    await finish(request, ctx("finish", "action"), deps);
    const keys = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.Key);
    expect(keys).toEqual([
      { pk: "approval#r-1", sk: "action:reserveSlot" },
      { pk: "approval#r-1", sk: "compensation:reserveSlot" },
      { pk: "approval#r-1", sk: "action:finish" },
    ]);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.UpdateExpression).toBe(
      "ADD #calls :one SET #execution = :execution",
    );
  });

  it("refuses a request without an id", () => {
    expect(ApprovalRequest.safeParse({ requestId: "" }).success).toBe(false);
  });
});
