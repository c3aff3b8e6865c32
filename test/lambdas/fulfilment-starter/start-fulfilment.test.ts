import { Logger } from "@aws-lambda-powertools/logger";
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  fulfilmentSagaInput,
  recordDeadLetter,
  type StarterDeps,
  sameFulfilment,
  startFulfilment,
} from "../../../lambdas/fulfilment-starter/start-fulfilment.js";
import type { FulfilmentRequest } from "../../../lambdas/fulfilment-steps/schema.js";
import type { DeadLetterMetadata } from "../../../lib/spool/runtime/dead-letter.js";
import { FaultInjector, NO_FAULTS } from "../../../lib/spool/runtime/faults.js";

const sfnMock = mockClient(SFNClient);
const ddbMock = mockClient(DynamoDBDocumentClient);
const SM = "arn:aws:states:us-east-1:123456789012:stateMachine:Fulfilment";
const ARN = "arn:aws:states:us-east-1:123456789012:execution:Fulfilment:o-1";

function request(overrides: Partial<FulfilmentRequest> = {}): FulfilmentRequest {
  return {
    schemaVersion: 1,
    orderId: "o-1",
    customerId: "c-1",
    customerEmail: "c-1@example.com",
    items: [{ sku: "sku-1", quantity: 2 }],
    amountCents: 4_200,
    currency: "EUR",
    ...overrides,
  };
}

function deps(faults?: FaultInjector): StarterDeps {
  return {
    sfn: new SFNClient({ region: "us-east-1" }),
    jobs: {
      db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
      table: "jobs",
    },
    stateMachineArn: SM,
    faults,
  };
}

const ctx = (attempt = 1, correlationId = "corr-1") => ({
  messageId: `m-${attempt}`,
  correlationId,
  attempt,
  logger: new Logger({ logLevel: "SILENT" }),
});

const jobWrites = () =>
  ddbMock
    .commandCalls(UpdateCommand)
    .map((c) => c.args[0].input.ExpressionAttributeValues?.[":to"]);

beforeEach(() => {
  sfnMock.reset();
  ddbMock.reset();
  ddbMock.on(UpdateCommand).resolves({ Attributes: {} });
});

describe("startFulfilment", () => {
  it("records the job PENDING, then starts the execution named after the order", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date() });
    const outcome = await startFulfilment(
      request({ faults: { chargePayment: "permanent" } }),
      ctx(),
      deps(),
    );
    expect(outcome).toEqual({ status: "started", executionArn: ARN });
    expect(jobWrites()).toEqual(["PENDING"]);
    const start = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.name).toBe("o-1");
    // Without fault injection the directives are dropped: they never reach the workflow.
    expect(JSON.parse(start?.input ?? "")).toEqual({
      jobId: "order-fulfilment:o-1",
      correlationId: "corr-1",
      request: {
        schemaVersion: 1,
        orderId: "o-1",
        customerId: "c-1",
        customerEmail: "c-1@example.com",
        items: [{ sku: "sku-1", quantity: 2 }],
        amountCents: 4_200,
        currency: "EUR",
      },
    });
  });

  it("carries fault directives into the workflow only when fault injection is on", () => {
    const input = fulfilmentSagaInput(
      request({ faults: { chargePayment: "transient:2" } }),
      "c",
      true,
    );
    expect(input.faults).toEqual({ chargePayment: "transient:2" });
  });

  it("treats a resent order (new correlation id) as a duplicate of the running execution", async () => {
    ddbMock
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "exists", $metadata: {} }));
    ddbMock.on(GetCommand).resolves({ Item: { jobId: "order-fulfilment:o-1", status: "RUNNING" } });
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: "exists", $metadata: {} }));
    sfnMock.on(DescribeExecutionCommand, { executionArn: ARN }).resolves({
      status: "RUNNING",
      input: JSON.stringify(fulfilmentSagaInput(request(), "corr-1", false)),
    });
    const outcome = await startFulfilment(request(), ctx(2, "corr-2"), deps());
    expect(outcome).toEqual({ status: "duplicate", executionArn: ARN, executionStatus: "RUNNING" });
  });

  it("dead-letters an order id reused for a different order", async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: "exists", $metadata: {} }));
    sfnMock.on(DescribeExecutionCommand).resolves({
      status: "SUCCEEDED",
      input: JSON.stringify(fulfilmentSagaInput(request(), "corr-1", false)),
    });
    await expect(
      startFulfilment(request({ amountCents: 9_999 }), ctx(), deps()),
    ).rejects.toMatchObject({ name: "PermanentError", code: "EXECUTION_NAME_REUSED" });
    // A permanent failure is not a retry: the job is not marked RETRYING.
    expect(jobWrites()).toEqual(["PENDING"]);
  });

  it("marks the job RETRYING with the error when the start fails transiently, and rethrows", async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    await expect(startFulfilment(request(), ctx(), deps())).rejects.toThrow("Rate exceeded");
    expect(jobWrites()).toEqual(["PENDING", "RETRYING"]);
    const retrying = ddbMock.commandCalls(UpdateCommand)[1]?.args[0].input;
    expect(retrying?.ExpressionAttributeValues?.[":lastError"]).toMatchObject({
      error: "ThrottlingException",
      cause: "Rate exceeded",
      kind: "start",
    });
    expect(retrying?.UpdateExpression).toContain("ADD #attempts :one");
  });

  it("honours a start directive only with fault injection on", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: ARN });
    const flaky = request({ faults: { start: "transient:1" } });
    const injector = new FaultInjector({ rates: NO_FAULTS });
    await expect(startFulfilment(flaky, ctx(1), deps(injector))).rejects.toThrow(
      "injected transient failure 1 of 1",
    );
    expect((await startFulfilment(flaky, ctx(2), deps(injector))).status).toBe("started");
    expect((await startFulfilment(flaky, ctx(1), deps())).status).toBe("started");
  });
});

describe("sameFulfilment", () => {
  it("compares the order and its directives, not the correlation or job id", () => {
    const a = fulfilmentSagaInput(request(), "c-1", true);
    expect(sameFulfilment(a, { ...a, correlationId: "c-2" })).toBe(true);
    expect(sameFulfilment(a, fulfilmentSagaInput(request({ currency: "USD" }), "c-1", true))).toBe(
      false,
    );
    expect(
      sameFulfilment(a, fulfilmentSagaInput(request({ faults: { x: "permanent" } }), "c-1", true)),
    ).toBe(false);
  });
});

describe("recordDeadLetter", () => {
  const metadata = (errorCode: string) =>
    ({
      version: 1,
      reason: "permanent-failure",
      errorClass: "PermanentError",
      errorCode,
      errorMessage: "why",
      messageId: "m-9",
      attempts: 1,
      firstFailureAt: "",
      lastFailureAt: "",
      sourceQueue: "",
      correlationId: "corr-9",
      schemaVersion: 1,
      consumer: "fulfilment-starter",
    }) satisfies DeadLetterMetadata;
  const jobs = deps().jobs;

  it("marks the order's job DEAD_LETTERED with the reason", async () => {
    await recordDeadLetter({ orderId: "o-9" }, metadata("SCHEMA_INVALID"), jobs);
    const input = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ jobId: "order-fulfilment:o-9" });
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ":to": "DEAD_LETTERED",
      ":messageId": "m-9",
      ":lastError": { error: "SCHEMA_INVALID", cause: "why", kind: "permanent-failure" },
    });
  });

  it("leaves the job alone when the order id belongs to other work, or there is none", async () => {
    await recordDeadLetter({ orderId: "o-9" }, metadata("EXECUTION_NAME_REUSED"), jobs);
    await recordDeadLetter({ orderId: "not a key!" }, metadata("SCHEMA_INVALID"), jobs);
    await recordDeadLetter(undefined, metadata("MALFORMED_JSON"), jobs);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
