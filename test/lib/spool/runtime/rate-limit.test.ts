import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  DeferredToQueue,
  deferralOf,
  deferralSeconds,
  hasHeadroom,
  RateLimiter,
  rateLimiterFor,
  TokenBuckets,
} from "../../../../lib/spool/runtime/rate-limit.js";
import type { RateLimitPolicy } from "../../../../lib/spool/runtime/rate-limit-policy.js";
import { HeldOnQueue } from "../../../../lib/spool/runtime/retry-delays.js";
import { type FakeBucketTable, fakeBucketTable } from "../../../helpers/fake-bucket-table.js";
import { sqsRecord, stringAttribute } from "../../../helpers/sqs.js";

const dynamoMock = mockClient(DynamoDBClient);
const sqsMock = mockClient(SQSClient);
const T0 = 1_714_557_600_000;
const FIVE: RateLimitPolicy = { perSecond: 5, burst: 5 };
const BUCKET = "orders#rate-limit#*";

let table: FakeBucketTable;
let clock: number;
const now = () => new Date(clock);

beforeEach(() => {
  dynamoMock.reset();
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "copy" });
  table = fakeBucketTable(dynamoMock);
  clock = T0;
  vi.stubEnv("AWS_ENDPOINT_URL_SQS", undefined);
  vi.stubEnv("AWS_ENDPOINT_URL", undefined);
});
afterEach(() => vi.unstubAllEnvs());

const buckets = (policy = FIVE) =>
  new TokenBuckets(policy, "idempotency", "orders", new DynamoDBClient({}), now);

describe("TokenBuckets", () => {
  it("takes a full bucket's burst with one write each, then paces by the interval", async () => {
    const b = buckets();
    const waits = [];
    for (let i = 0; i < 7; i++) {
      const d = await b.acquire("*", 2000);
      waits.push(d.kind === "take" ? d.waitMs : "over");
    }
    expect(waits).toEqual([0, 0, 0, 0, 0, 200, 400]);
    expect(table.tatOf(BUCKET)).toBe(T0 + 1400);
    // No reads: the first write reset the idle bucket, every later one moved the busy bucket.
    expect(dynamoMock.commandCalls(UpdateItemCommand)).toHaveLength(7);
    expect(dynamoMock.commandCalls(GetItemCommand)).toHaveLength(0);
    const last = table.updates.at(-1);
    expect(last?.Key).toEqual({ id: { S: BUCKET } });
    expect(last?.TableName).toBe("idempotency");
    // An idle bucket expires (TTL) an hour after it would be full again.
    expect(Number(table.items.get(BUCKET)?.expiration?.N)).toBeGreaterThan((T0 + 1400) / 1000);
  });

  it("says when the next token is due once none is due within the wait, and takes nothing", async () => {
    table.setTat(BUCKET, T0 + 5000);
    const d = await buckets().acquire("*", 2000);
    expect(d).toEqual({ kind: "over", retryInMs: 4200 });
    expect(table.tatOf(BUCKET)).toBe(T0 + 5000);
  });

  it("under contention, decides again from the item the failed condition returns", async () => {
    const b = buckets();
    await b.acquire("*", 2000); // idle → tat T0+200; this container now believes "busy".
    // Another invocation drains the bucket between this container's decision and its write.
    table.beforeWrite = () => {
      table.setTat(BUCKET, T0 + 3000);
      table.beforeWrite = undefined;
    };
    const d = await b.acquire("*", 2000);
    expect(d).toEqual({ kind: "over", retryInMs: 2200 });
    expect(table.tatOf(BUCKET)).toBe(T0 + 3000);
  });

  it("under contention, retries the other update when the bucket went idle meanwhile", async () => {
    const b = buckets();
    await b.acquire("*", 2000);
    clock = T0 + 100;
    table.beforeWrite = () => {
      table.items.delete(BUCKET); // expired by TTL: full again
      table.beforeWrite = undefined;
    };
    const d = await b.acquire("*", 2000);
    expect(d).toEqual({ kind: "take", tat: T0 + 300, waitMs: 0 });
    expect(table.updates.map((u) => u.ConditionExpression)).toEqual([
      "attribute_not_exists(#tat) OR #tat <= :now",
      "#tat > :now AND #tat <= :latest",
      "attribute_not_exists(#tat) OR #tat <= :now",
    ]);
  });

  it("reads the bucket when a failed condition returns no item (as an emulator may)", async () => {
    table.returnItemOnFailure = false;
    table.setTat(BUCKET, T0 + 200); // busy, but this container has never seen it
    const d = await buckets().acquire("*", 2000);
    expect(d).toEqual({ kind: "take", tat: T0 + 400, waitMs: 0 });
    expect(dynamoMock.commandCalls(GetItemCommand)).toHaveLength(1);
    expect(dynamoMock.commandCalls(GetItemCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it("gives up after five contended tries and defers by one interval", async () => {
    const b = buckets();
    let writes = 0;
    // Every write loses: someone else always just turned the bucket busy, or idle again.
    table.beforeWrite = () => {
      if (writes++ % 2 === 0) table.setTat(BUCKET, T0 + 100);
      else table.items.delete(BUCKET);
    };
    const d = await b.acquire("*", 2000);
    expect(d).toEqual({ kind: "over", retryInMs: 200 });
    expect(table.updates).toHaveLength(5);
  });

  it("keeps one bucket per key", async () => {
    const b = buckets({ perSecond: 1, burst: 1 });
    expect(await b.acquire("acme", 0)).toMatchObject({ kind: "take" });
    expect(await b.acquire("acme", 0)).toMatchObject({ kind: "over" });
    expect(await b.acquire("globex", 0)).toMatchObject({ kind: "take" });
    expect([...table.items.keys()].sort()).toEqual([
      "orders#rate-limit#acme",
      "orders#rate-limit#globex",
    ]);
  });
});

describe("RateLimiter.admit", () => {
  const metrics = { addMetric: vi.fn() };
  const logger = { info: vi.fn(), warn: vi.fn() };
  const sleep = vi.fn(async (_ms: number) => {});
  const limiter = (policy: RateLimitPolicy = FIVE, maxReceiveCount: number | undefined = 5) =>
    new RateLimiter(
      policy,
      new TokenBuckets(policy, "idempotency", "orders", new DynamoDBClient({}), now),
      {
        dynamo: new DynamoDBClient({}),
        sqs: new SQSClient({ region: "us-east-1" }),
        metrics,
        logger,
        now,
        random: () => 0.5,
        sleep,
      },
      maxReceiveCount,
    );
  const deadlineAt = T0 + 20_000;
  beforeEach(() => {
    metrics.addMetric.mockClear();
    sleep.mockClear();
  });

  it("lets a record with a token due soon wait for it in the invocation", async () => {
    table.setTat(BUCKET, T0 + 1500); // next token due in 700 ms
    const record = sqsRecord({ messageId: "m", body: { id: "a" } });
    expect(await limiter().admit({ record, body: { id: "a" }, attempt: 1, deadlineAt })).toBe(
      undefined,
    );
    expect(sleep).toHaveBeenCalledWith(700);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it("defers instead of starting when the wait for its token overslept into the deadline's margin", async () => {
    table.setTat(BUCKET, T0 + 1500); // next token due in 700 ms...
    const record = sqsRecord({ messageId: "m", body: { id: "a" } });
    const lateDeadline = T0 + 2_500;
    sleep.mockImplementationOnce(async (ms: number) => {
      clock += ms + 1_500; // ...but the loaded event loop wakes the wait 1.5 s late
    });
    await expect(
      limiter().admit({ record, body: { id: "a" }, attempt: 1, deadlineAt: lateDeadline }),
    ).rejects.toEqual(new DeferredToQueue(1));
    expect(
      sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input.DelaySeconds),
    ).toEqual([1]);
    expect(metrics.addMetric).toHaveBeenCalledWith("Deferred", "Count", 1);
  });

  it("starts after its wait when the deadline is still far enough off", async () => {
    table.setTat(BUCKET, T0 + 1500);
    const record = sqsRecord({ messageId: "m", body: { id: "a" } });
    sleep.mockImplementationOnce(async (ms: number) => {
      clock += ms;
    });
    expect(
      await limiter().admit({ record, body: { id: "a" }, attempt: 1, deadlineAt: T0 + 2_500 }),
    ).toBe(undefined);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it("defers a standard record over the limit as a delayed copy that keeps body and attributes", async () => {
    table.setTat(BUCKET, T0 + 5000); // next token due in 4.2 s
    const record = sqsRecord({
      messageId: "m",
      body: { id: "a" },
      attempt: 3,
      messageAttributes: { "correlation-id": stringAttribute("corr-1") },
    });
    // 4.2 s plus half of it again as jitter, rounded up; thrown once the copy is on the queue.
    await expect(
      limiter().admit({ record, body: { id: "a" }, attempt: 3, deadlineAt }),
    ).rejects.toEqual(new DeferredToQueue(7));
    const sent = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toEqual([
      {
        QueueUrl: "https://sqs.us-east-1.amazonaws.com/000000000000/q",
        MessageBody: record.body,
        MessageAttributes: { "correlation-id": { DataType: "String", StringValue: "corr-1" } },
        DelaySeconds: 7,
      },
    ]);
    expect(metrics.addMetric).toHaveBeenCalledWith("Deferred", "Count", 1);
    expect(table.tatOf(BUCKET)).toBe(T0 + 5000);
  });

  it("defers a FIFO record in place (visibility) while it has deliveries to spare", async () => {
    table.setTat(BUCKET, T0 + 5000);
    const record = sqsRecord({ messageId: "m", body: {}, fifo: true, attempt: 3 });
    await expect(limiter().admit({ record, body: {}, attempt: 3, deadlineAt })).rejects.toEqual(
      new HeldOnQueue(7),
    );
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it("never defers a FIFO record into its last delivery: it waits for its token instead", async () => {
    table.setTat(BUCKET, T0 + 5000);
    const record = sqsRecord({ messageId: "m", body: {}, fifo: true, attempt: 4 });
    expect(await limiter().admit({ record, body: {}, attempt: 4, deadlineAt })).toBe(undefined);
    expect(sleep).toHaveBeenCalledWith(4200);
    expect(table.tatOf(BUCKET)).toBe(T0 + 5200);
  });

  it("runs a FIFO record with no delivery and no time to spare over the limit, counted", async () => {
    table.setTat(BUCKET, T0 + 60_000);
    const record = sqsRecord({ messageId: "m", body: {}, fifo: true, attempt: 4 });
    expect(await limiter().admit({ record, body: {}, attempt: 4, deadlineAt })).toBe(undefined);
    expect(metrics.addMetric).toHaveBeenCalledWith("RateLimitOverrun", "Count", 1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it("paces each key on its own bucket", async () => {
    const l = limiter({ perSecond: 1, burst: 1, key: { source: "body", path: ["tenant"] } });
    const admit = (tenant: string) =>
      l.admit({
        record: sqsRecord({ messageId: tenant, body: { tenant } }),
        body: { tenant },
        attempt: 1,
        deadlineAt,
      });
    expect(await admit("acme")).toBe(undefined);
    expect(await admit("globex")).toBe(undefined);
    expect(sleep).not.toHaveBeenCalled();
    expect(await admit("acme")).toBe(undefined); // acme's next token: 1 s away, within the wait
    expect(sleep).toHaveBeenCalledWith(1000);
  });
});

describe("helpers", () => {
  const metrics = { addMetric: vi.fn() };
  const logger = { info: vi.fn(), warn: vi.fn() };
  it("spreads a deferral over [due, 2 × due], whole seconds from 1 to 900", () => {
    expect(deferralSeconds(4200, () => 0)).toBe(5);
    expect(deferralSeconds(4200, () => 0.999)).toBe(9);
    expect(deferralSeconds(10, () => 0)).toBe(1);
    expect(deferralSeconds(3_600_000, () => 0)).toBe(900);
  });

  it("tells a deferral apart from any other error of the step", () => {
    const deferral = new DeferredToQueue(3);
    expect(deferralOf(deferral)).toBe(deferral);
    const other = new Error("boom");
    expect(() => deferralOf(other)).toThrow(other);
  });

  it("leaves a FIFO deferral only the deliveries before the last", () => {
    expect(hasHeadroom(3, 5)).toBe(true);
    expect(hasHeadroom(4, 5)).toBe(false);
    expect(hasHeadroom(1, 1)).toBe(false);
    expect(hasHeadroom(9, undefined)).toBe(true);
  });

  it("needs the idempotency table for its buckets", () => {
    const deps = { dynamo: new DynamoDBClient({}), sqs: new SQSClient({}), metrics, logger, now };
    const config = { consumerName: "c", rateLimit: FIVE, maxReceiveCount: 5 };
    const random = Math.random;
    expect(() =>
      rateLimiterFor({ ...config, idempotencyTable: undefined }, { ...deps, random }),
    ).toThrow(/needs the idempotency table/);
    expect(
      rateLimiterFor({ ...config, idempotencyTable: "t" }, { ...deps, random }),
    ).toBeInstanceOf(RateLimiter);
    expect(
      rateLimiterFor(
        { consumerName: "c", idempotencyTable: "t", maxReceiveCount: 5 },
        { ...deps, random },
      ),
    ).toBeUndefined();
  });
});
