/**
 * The rate limit's step in the record pipeline (rate-limit.ts carries it out): after the schema,
 * key and due-time checks, before the idempotency record.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { type FakeBucketTable, fakeBucketTable } from "../../../helpers/fake-bucket-table.js";
import { stringAttribute } from "../../../helpers/sqs.js";
import {
  body,
  deadLetters,
  failedIds,
  harness,
  invoke,
  NOW,
  record,
  sqsMock,
  useConsumerHarness,
  visibilityChanges,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();
const dynamoMock = mockClient(DynamoDBClient);
let table: FakeBucketTable;
beforeEach(() => {
  dynamoMock.reset();
  table = fakeBucketTable(dynamoMock);
});

const BUCKET = "test-consumer#rate-limit#*";
const rateLimit = { perSecond: 5, burst: 5 };

describe("a rate-limited consumer", () => {
  it("processes records while the bucket has tokens, one write each", async () => {
    const h = harness({ config: { rateLimit } });
    const response = await invoke(
      h,
      ...["a", "b", "c"].map((id) => record({ messageId: id, body: body(id) })),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(3);
    // Parallel records of one container take turns on the bucket: no write fails its condition.
    expect(table.updates).toHaveLength(3);
    expect(table.tatOf(BUCKET)).toBe(NOW.getTime() + 600);
  });

  it("defers a record over the limit: re-sent with a delay, acknowledged, not run, no idempotency record", async () => {
    table.setTat(BUCKET, NOW.getTime() + 5000);
    const h = harness({ config: { rateLimit } });
    const response = await invoke(
      h,
      record({
        messageId: "m-1",
        body: body("a"),
        attempt: 2,
        messageAttributes: { "correlation-id": stringAttribute("corr-1") },
      }),
    );
    // Acknowledged: the copy replaces it, so this delivery does not count toward maxReceiveCount.
    expect(failedIds(response)).toEqual([]);
    expect(h.process).not.toHaveBeenCalled();
    // The in-progress record taken before the token was deleted: the copy will run.
    expect(h.store?.table.size).toBe(0);
    expect(h.metricNames()).toEqual(["Deferred"]);
    expect(visibilityChanges()).toEqual([]);
    const sent = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toEqual([
      {
        QueueUrl: "https://sqs.us-east-1.amazonaws.com/000000000000/q",
        MessageBody: JSON.stringify(body("a")),
        MessageAttributes: { "correlation-id": { DataType: "String", StringValue: "corr-1" } },
        // The next token is 4.2 s away; jitter (0.5 in the harness) adds half of that.
        DelaySeconds: 7,
      },
    ]);
    expect(deadLetters()).toHaveLength(1); // the copy; nothing went to the DLQ
    expect(sent[0]?.QueueUrl).not.toContain("dlq");
  });

  it("defers a FIFO record in place: reported failed with the bucket's delay as its visibility", async () => {
    table.setTat(BUCKET, NOW.getTime() + 5000);
    const h = harness({ config: { rateLimit } });
    const head = record({ messageId: "f-1", body: body("a"), fifo: true, attempt: 1 });
    const next = record({ messageId: "f-2", body: body("b"), fifo: true, attempt: 1 });
    const response = await invoke(h, head, next);
    // The group waits behind its deferred head; nothing was re-sent.
    expect(failedIds(response)).toEqual(["f-1", "f-2"]);
    expect(h.process).not.toHaveBeenCalled();
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([7, 0]);
    expect(h.metricNames()).toContain("Deferred");
  });

  it("treats a bucket it cannot reach as a transient failure: the record comes back", async () => {
    dynamoMock.reset();
    dynamoMock.rejects(new Error("throttled"));
    const h = harness({ config: { rateLimit } });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(h.process).not.toHaveBeenCalled();
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it("answers a duplicate of finished work from its idempotency record without taking a token", async () => {
    const h = harness({ config: { rateLimit } });
    await invoke(h, record({ messageId: "m-1", body: body("a") }));
    await invoke(h, record({ messageId: "m-2", body: body("a") }));
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(h.metricNames()).toEqual(["Processed", "DuplicatesSuppressed"]);
    expect(table.updates).toHaveLength(1);
  });

  it("runs a schema-invalid record's dead-lettering without taking a token", async () => {
    const h = harness({ config: { rateLimit } });
    await invoke(h, record({ messageId: "m-1", body: { schemaVersion: 1 } }));
    expect(table.updates).toHaveLength(0);
    expect(deadLetters()).toHaveLength(1);
  });
});
