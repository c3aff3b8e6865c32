import { ChangeMessageVisibilityBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { applyRetryDelays, queueUrlFromArn } from "../../../../lib/spool/runtime/retry-delays.js";
import { FIFO_QUEUE_ARN, STANDARD_QUEUE_ARN, sqsRecord } from "../../../helpers/sqs.js";

const SOURCE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q";
const FIFO_SOURCE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q.fifo";

const sqsMock = mockClient(SQSClient);
const logger = { warn: vi.fn() };

beforeEach(() => {
  sqsMock.reset();
  logger.warn.mockClear();
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  // Queue URLs are derived from the ARN and the endpoint variables; pin them to AWS's.
  vi.stubEnv("AWS_ENDPOINT_URL_SQS", undefined);
  vi.stubEnv("AWS_ENDPOINT_URL", undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("queueUrlFromArn", () => {
  it("builds the regional AWS URL", () => {
    expect(queueUrlFromArn(STANDARD_QUEUE_ARN)).toBe(SOURCE_URL);
    expect(queueUrlFromArn(FIFO_QUEUE_ARN)).toBe(FIFO_SOURCE_URL);
  });

  it("uses the .com.cn suffix in the aws-cn partition", () => {
    expect(queueUrlFromArn("arn:aws-cn:sqs:cn-north-1:123456789012:jobs")).toBe(
      "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs",
    );
  });

  it("uses the configured endpoint (SQS-specific first) when there is one", () => {
    vi.stubEnv("AWS_ENDPOINT_URL", "http://localhost:4566/");
    expect(queueUrlFromArn(STANDARD_QUEUE_ARN)).toBe("http://localhost:4566/000000000000/q");
    vi.stubEnv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324");
    expect(queueUrlFromArn(STANDARD_QUEUE_ARN)).toBe("http://127.0.0.1:9324/000000000000/q");
  });
});

describe("applyRetryDelays", () => {
  const failures = (...ids: string[]) => ({
    batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })),
  });

  it("sets each failed record's delay, 0 for one without, per source queue; skips the rest", async () => {
    const records = [
      sqsRecord({ messageId: "a", body: "{}" }),
      sqsRecord({ messageId: "ok", body: "{}" }),
      sqsRecord({ messageId: "b", body: "{}", fifo: true, groupId: "g" }),
    ];
    await applyRetryDelays(
      new SQSClient({ region: "us-east-1" }),
      records,
      failures("a", "b"),
      new Map([["a", 7]]),
      logger,
    );
    expect(
      sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).map((call) => call.args[0].input),
    ).toEqual([
      {
        QueueUrl: SOURCE_URL,
        Entries: [{ Id: "r0", ReceiptHandle: "receipt-a", VisibilityTimeout: 7 }],
      },
      {
        QueueUrl: FIFO_SOURCE_URL,
        Entries: [{ Id: "r2", ReceiptHandle: "receipt-b", VisibilityTimeout: 0 }],
      },
    ]);
  });

  it("sends at most 10 entries per call and logs what SQS refuses without throwing", async () => {
    sqsMock
      .on(ChangeMessageVisibilityBatchCommand)
      .resolvesOnce({ Failed: [{ Id: "r0", Code: "ReceiptHandleIsInvalid", SenderFault: true }] })
      .rejects(new Error("throttled"));
    const records = Array.from({ length: 12 }, (_, i) =>
      sqsRecord({ messageId: `m-${i}`, body: "{}" }),
    );
    await applyRetryDelays(
      new SQSClient({ region: "us-east-1" }),
      records,
      failures(...records.map((r) => r.messageId)),
      new Map(),
      logger,
    );
    const calls = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 2]);
    expect(logger.warn.mock.calls.map((call) => call[0])).toEqual([
      "some retry delays were not applied",
      "could not apply retry delays",
    ]);
  });
});
