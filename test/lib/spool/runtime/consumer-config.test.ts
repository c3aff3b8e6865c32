import { describe, expect, it } from "vitest";
import {
  CONSUMER_ENV,
  consumerConfigFromEnv,
} from "../../../../lib/spool/runtime/consumer-config.js";
import { ConfigurationError } from "../../../../lib/spool/runtime/env.js";

const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q-dlq";

describe("consumerConfigFromEnv", () => {
  it("reads what the QueueConsumer construct writes", () => {
    expect(
      consumerConfigFromEnv({
        SPOOL_CONSUMER_NAME: "orders",
        SPOOL_DEAD_LETTER_QUEUE_URL: DLQ_URL,
        SPOOL_MAX_RECEIVE_COUNT: "5",
        SPOOL_BACKOFF_BASE_SECONDS: "1",
        SPOOL_BACKOFF_CAP_SECONDS: "8",
        SPOOL_IDEMPOTENCY_TABLE: "idem",
        SPOOL_IDEMPOTENCY_TTL_SECONDS: "600",
        SPOOL_PAYLOAD_BUCKET: "payloads",
      }),
    ).toEqual({
      consumerName: "orders",
      deadLetterQueueUrl: DLQ_URL,
      maxReceiveCount: 5,
      backoff: { baseSeconds: 1, capSeconds: 8 },
      idempotencyTable: "idem",
      idempotencyTtlSeconds: 600,
      payloadBucket: "payloads",
    });
  });

  it("names each variable once, as the construct writes them", () => {
    expect(CONSUMER_ENV).toEqual({
      consumerName: "SPOOL_CONSUMER_NAME",
      deadLetterQueueUrl: "SPOOL_DEAD_LETTER_QUEUE_URL",
      maxReceiveCount: "SPOOL_MAX_RECEIVE_COUNT",
      backoffBaseSeconds: "SPOOL_BACKOFF_BASE_SECONDS",
      backoffCapSeconds: "SPOOL_BACKOFF_CAP_SECONDS",
      idempotencyTable: "SPOOL_IDEMPOTENCY_TABLE",
      idempotencyTtlSeconds: "SPOOL_IDEMPOTENCY_TTL_SECONDS",
      heartbeatEverySeconds: "SPOOL_HEARTBEAT_EVERY_SECONDS",
      heartbeatExtendBySeconds: "SPOOL_HEARTBEAT_EXTEND_BY_SECONDS",
      rateLimitPerSecond: "SPOOL_RATE_LIMIT_PER_SECOND",
      tenantMaxInFlight: "SPOOL_TENANT_MAX_IN_FLIGHT",
      tenantRetryAfterSeconds: "SPOOL_TENANT_RETRY_AFTER_SECONDS",
      rateLimitBurst: "SPOOL_RATE_LIMIT_BURST",
      rateLimitKey: "SPOOL_RATE_LIMIT_KEY",
      jobsTable: "SPOOL_JOBS_TABLE",
      jobKind: "SPOOL_JOB_KIND",
      payloadBucket: "SPOOL_PAYLOAD_BUCKET",
      holdGroupOnDeadLetter: "SPOOL_HOLD_GROUP_ON_DEAD_LETTER",
    });
  });

  it("reads job tracking: the table, and a kind that defaults to the consumer name", () => {
    expect(
      consumerConfigFromEnv({ SPOOL_JOBS_TABLE: "jobs", SPOOL_JOB_KIND: "export" }).jobs,
    ).toEqual({ table: "jobs", kind: "export" });
    expect(
      consumerConfigFromEnv({ SPOOL_JOBS_TABLE: "jobs", SPOOL_CONSUMER_NAME: "reports" }).jobs,
    ).toEqual({ table: "jobs", kind: "reports" });
    expect(consumerConfigFromEnv({}).jobs).toBeUndefined();
    expect(() => consumerConfigFromEnv({ SPOOL_JOB_KIND: "export" })).toThrow(
      "SPOOL_JOB_KIND is set without SPOOL_JOBS_TABLE",
    );
    expect(() =>
      consumerConfigFromEnv({ SPOOL_JOBS_TABLE: "jobs", SPOOL_JOB_KIND: "a:b" }),
    ).toThrow(/SPOOL_JOB_KIND .* got "a:b"/);
  });

  it("reads a rate limit, with its key, and none when its variables are unset", () => {
    expect(
      consumerConfigFromEnv({
        SPOOL_RATE_LIMIT_PER_SECOND: "0.5",
        SPOOL_RATE_LIMIT_BURST: "3",
        SPOOL_RATE_LIMIT_KEY: "body:tenant.id",
      }).rateLimit,
    ).toEqual({ perSecond: 0.5, burst: 3, key: { source: "body", path: ["tenant", "id"] } });
    expect(
      consumerConfigFromEnv({ SPOOL_RATE_LIMIT_PER_SECOND: "5", SPOOL_RATE_LIMIT_BURST: "5" })
        .rateLimit,
    ).toEqual({ perSecond: 5, burst: 5, key: undefined });
    expect(consumerConfigFromEnv({}).rateLimit).toBeUndefined();
  });

  it.each([
    [
      { SPOOL_RATE_LIMIT_PER_SECOND: "0", SPOOL_RATE_LIMIT_BURST: "5" },
      /PER_SECOND must be a number above 0 and at most 1000, got 0/,
    ],
    [{ SPOOL_RATE_LIMIT_PER_SECOND: "fast", SPOOL_RATE_LIMIT_BURST: "5" }, /got fast/],
    [{ SPOOL_RATE_LIMIT_BURST: "5" }, /PER_SECOND must be .* got nothing/],
    [{ SPOOL_RATE_LIMIT_PER_SECOND: "5" }, /SPOOL_RATE_LIMIT_BURST is not set/],
    [
      { SPOOL_RATE_LIMIT_PER_SECOND: "5", SPOOL_RATE_LIMIT_BURST: "0" },
      /BURST must be a positive integer, got 0/,
    ],
    [
      {
        SPOOL_RATE_LIMIT_PER_SECOND: "5",
        SPOOL_RATE_LIMIT_BURST: "5",
        SPOOL_RATE_LIMIT_KEY: "tenant",
      },
      /KEY must be "body:<field path>" or "attribute:<name>", got "tenant"/,
    ],
    [{ SPOOL_RATE_LIMIT_KEY: "body:tenant" }, /KEY is set without SPOOL_RATE_LIMIT_PER_SECOND/],
  ])("refuses a malformed rate limit at init, naming the variable (%o)", (env, message) => {
    expect(() => consumerConfigFromEnv(env)).toThrow(ConfigurationError);
    expect(() => consumerConfigFromEnv(env)).toThrow(message);
  });

  it("reads tenant fairness: the quota, a retry delay defaulting to 1 s, none when unset", () => {
    expect(consumerConfigFromEnv({ SPOOL_TENANT_MAX_IN_FLIGHT: "3" }).tenantFairness).toEqual({
      maxInFlightPerTenant: 3,
      retryAfterMs: 1000,
    });
    expect(
      consumerConfigFromEnv({
        SPOOL_TENANT_MAX_IN_FLIGHT: "3",
        SPOOL_TENANT_RETRY_AFTER_SECONDS: "5",
      }).tenantFairness,
    ).toEqual({ maxInFlightPerTenant: 3, retryAfterMs: 5000 });
    expect(consumerConfigFromEnv({}).tenantFairness).toBeUndefined();
  });

  it.each([
    [{ SPOOL_TENANT_MAX_IN_FLIGHT: "0" }, /MAX_IN_FLIGHT must be an integer from 1 to 1000, got 0/],
    [
      { SPOOL_TENANT_MAX_IN_FLIGHT: "2", SPOOL_TENANT_RETRY_AFTER_SECONDS: "901" },
      /RETRY_AFTER_SECONDS must be an integer from 1 to 900, got 901/,
    ],
    [
      { SPOOL_TENANT_RETRY_AFTER_SECONDS: "2" },
      /SPOOL_TENANT_RETRY_AFTER_SECONDS is set without SPOOL_TENANT_MAX_IN_FLIGHT/,
    ],
  ])("refuses malformed tenant fairness at init, naming the variable (%o)", (env, message) => {
    expect(() => consumerConfigFromEnv(env)).toThrow(message);
  });

  it("reads the heartbeat when both of its variables are set, and none when neither is", () => {
    expect(
      consumerConfigFromEnv({
        SPOOL_HEARTBEAT_EVERY_SECONDS: "10",
        SPOOL_HEARTBEAT_EXTEND_BY_SECONDS: "30",
      }).heartbeat,
    ).toEqual({ everySeconds: 10, extendBySeconds: 30 });
    expect(consumerConfigFromEnv({}).heartbeat).toBeUndefined();
  });

  it("falls back to the function name and Spool's defaults", () => {
    expect(consumerConfigFromEnv({ AWS_LAMBDA_FUNCTION_NAME: "fn" })).toEqual({
      consumerName: "fn",
      deadLetterQueueUrl: undefined,
      maxReceiveCount: undefined,
      backoff: { baseSeconds: 2, capSeconds: 300 },
      idempotencyTable: undefined,
      idempotencyTtlSeconds: 86_400,
    });
    expect(consumerConfigFromEnv({}).consumerName).toBe("spool-consumer");
  });

  it("treats an empty variable as unset", () => {
    expect(
      consumerConfigFromEnv({
        SPOOL_CONSUMER_NAME: "",
        AWS_LAMBDA_FUNCTION_NAME: "fn",
        SPOOL_DEAD_LETTER_QUEUE_URL: "",
        SPOOL_MAX_RECEIVE_COUNT: "",
        SPOOL_IDEMPOTENCY_TABLE: "",
      }),
    ).toMatchObject({
      consumerName: "fn",
      deadLetterQueueUrl: undefined,
      maxReceiveCount: undefined,
      idempotencyTable: undefined,
    });
  });

  it("rejects a bad receive count or backoff, naming the variable and value", () => {
    expect(() => consumerConfigFromEnv({ SPOOL_MAX_RECEIVE_COUNT: "0" })).toThrow(
      "SPOOL_MAX_RECEIVE_COUNT must be a positive integer, got 0",
    );
    expect(() => consumerConfigFromEnv({ SPOOL_IDEMPOTENCY_TTL_SECONDS: "1.5" })).toThrow(
      "SPOOL_IDEMPOTENCY_TTL_SECONDS must be a positive integer, got 1.5",
    );
    expect(() =>
      consumerConfigFromEnv({ SPOOL_BACKOFF_BASE_SECONDS: "10", SPOOL_BACKOFF_CAP_SECONDS: "5" }),
    ).toThrow("backoff capSeconds must be >= baseSeconds (10), got 5");
  });

  it.each([
    [{ SPOOL_MAX_RECEIVE_COUNT: "five" }, "SPOOL_MAX_RECEIVE_COUNT must be a positive integer"],
    [{ SPOOL_BACKOFF_BASE_SECONDS: "soon" }, "SPOOL_BACKOFF_BASE_SECONDS must be an integer"],
    [{ SPOOL_BACKOFF_BASE_SECONDS: "-1" }, "SPOOL_BACKOFF_BASE_SECONDS must be an integer"],
    [{ SPOOL_BACKOFF_CAP_SECONDS: "43201" }, "SPOOL_BACKOFF_CAP_SECONDS must be an integer"],
    [
      { SPOOL_BACKOFF_BASE_SECONDS: "10", SPOOL_BACKOFF_CAP_SECONDS: "5" },
      "SPOOL_BACKOFF_CAP_SECONDS",
    ],
    [{ SPOOL_IDEMPOTENCY_TTL_SECONDS: "0" }, "SPOOL_IDEMPOTENCY_TTL_SECONDS must be"],
    [{ SPOOL_HEARTBEAT_EVERY_SECONDS: "10" }, "SPOOL_HEARTBEAT_EXTEND_BY_SECONDS is not set"],
    [{ SPOOL_HEARTBEAT_EXTEND_BY_SECONDS: "30" }, "SPOOL_HEARTBEAT_EVERY_SECONDS is not set"],
    [
      { SPOOL_HEARTBEAT_EVERY_SECONDS: "0", SPOOL_HEARTBEAT_EXTEND_BY_SECONDS: "30" },
      "SPOOL_HEARTBEAT_EVERY_SECONDS must be an integer from 1 to 43200, got 0",
    ],
    [
      { SPOOL_HEARTBEAT_EVERY_SECONDS: "10", SPOOL_HEARTBEAT_EXTEND_BY_SECONDS: "43201" },
      "SPOOL_HEARTBEAT_EXTEND_BY_SECONDS must be an integer from 1 to 43200, got 43201",
    ],
    [
      { SPOOL_HEARTBEAT_EVERY_SECONDS: "30", SPOOL_HEARTBEAT_EXTEND_BY_SECONDS: "30" },
      "SPOOL_HEARTBEAT_EVERY_SECONDS must be less than SPOOL_HEARTBEAT_EXTEND_BY_SECONDS (30), got 30",
    ],
  ])("fails at init with a ConfigurationError naming the variable: %j", (env, message) => {
    expect(() => consumerConfigFromEnv(env)).toThrow(ConfigurationError);
    expect(() => consumerConfigFromEnv(env)).toThrow(message);
  });
});
