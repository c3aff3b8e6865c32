import {
  CloudWatchClient,
  GetMetricDataCommand,
  type MetricDatum,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  deadLetterGrowth,
  estimateSecondsToDrain,
  queueNameOf,
  sampleQueues,
} from "../../../../../lib/spool/spool-monitoring/runtime/sample-queues.js";
import { SamplerInput } from "../../../../../lib/spool/spool-monitoring/runtime/sampler-schema.js";

const sqsMock = mockClient(SQSClient);
const cwMock = mockClient(CloudWatchClient);
const now = new Date("2026-01-01T12:00:00Z");

const input = SamplerInput.parse({
  namespace: "Spool",
  rateWindowSeconds: 300,
  growthWindowSeconds: 300,
  queues: [
    { queueUrl: "https://sqs/1/busy", deadLetterQueueUrl: "https://sqs/1/busy-dlq" },
    { queueUrl: "https://sqs/1/stuck", deadLetterQueueUrl: "https://sqs/1/stuck-dlq" },
    { queueUrl: "https://sqs/1/unknown", deadLetterQueueUrl: "https://sqs/1/unknown-dlq" },
  ],
});

const counts: Record<string, Record<string, string>> = {
  "https://sqs/1/busy": { ApproximateNumberOfMessages: "600", MessageRetentionPeriod: "345600" },
  "https://sqs/1/stuck": { ApproximateNumberOfMessages: "5", MessageRetentionPeriod: "3600" },
  "https://sqs/1/unknown": { ApproximateNumberOfMessages: "7", MessageRetentionPeriod: "3600" },
  "https://sqs/1/busy-dlq": {
    ApproximateNumberOfMessages: "4",
    ApproximateNumberOfMessagesNotVisible: "1",
  },
  "https://sqs/1/stuck-dlq": {
    ApproximateNumberOfMessages: "2",
    ApproximateNumberOfMessagesNotVisible: "0",
  },
  "https://sqs/1/unknown-dlq": {
    ApproximateNumberOfMessages: "0",
    ApproximateNumberOfMessagesNotVisible: "0",
  },
};

beforeEach(() => {
  sqsMock.reset();
  cwMock.reset();
  sqsMock
    .on(GetQueueAttributesCommand)
    .callsFake((i: { QueueUrl: string }) => ({ Attributes: counts[i.QueueUrl] }));
  cwMock.on(GetMetricDataCommand).callsFake((i: { MetricDataQueries: { Id: string }[] }) => ({
    MetricDataResults: i.MetricDataQueries.map((q) => {
      // busy: 60 deletes a minute over 4 reported minutes; stuck: none; unknown: no data at all.
      const values: Record<string, number[]> = {
        deleted0: [60, 60, 60, 60],
        deleted1: [0, 0],
        baseline0: [3, 2, 4],
      };
      return { Id: q.Id, Values: values[q.Id] ?? [] };
    }),
  }));
  cwMock.on(PutMetricDataCommand).resolves({});
});

describe("queue sampler", () => {
  it("estimates drain time from the backlog and the deletes per second", () => {
    expect(estimateSecondsToDrain(0, undefined, 3600)).toBe(0);
    expect(estimateSecondsToDrain(600, 1, 3600)).toBe(600);
    expect(estimateSecondsToDrain(5, 0, 3600)).toBe(3600);
    expect(estimateSecondsToDrain(1_000_000, 1, 3600)).toBe(3600);
    expect(estimateSecondsToDrain(5, undefined, 3600)).toBeUndefined();
  });

  it("measures dead-letter growth above the window's lowest sample", () => {
    expect(deadLetterGrowth(5, 2)).toBe(3);
    expect(deadLetterGrowth(1, 2)).toBe(0);
    expect(deadLetterGrowth(5, undefined)).toBe(0);
    expect(queueNameOf("http://localhost:4566/000000000000/orders.fifo")).toBe("orders.fifo");
  });

  it("publishes drain time, dead letters and growth per queue, skipping unknown rates", async () => {
    const samples = await sampleQueues(input, {
      sqs: new SQSClient({ region: "us-east-1" }),
      cloudwatch: new CloudWatchClient({ region: "us-east-1" }),
      now: () => now,
    });
    expect(samples).toEqual([
      expect.objectContaining({
        queueName: "busy",
        visible: 600,
        processingRatePerSecond: 1,
        estimatedSecondsToDrain: 600,
        deadLetters: 5,
        deadLetterBaseline: 2,
        deadLetterGrowth: 3,
      }),
      expect.objectContaining({
        queueName: "stuck",
        processingRatePerSecond: 0,
        estimatedSecondsToDrain: 3600,
        deadLetterGrowth: 0,
      }),
      expect.objectContaining({
        queueName: "unknown",
        processingRatePerSecond: undefined,
        estimatedSecondsToDrain: undefined,
      }),
    ]);

    const [put] = cwMock.commandCalls(PutMetricDataCommand);
    expect(put?.args[0].input.Namespace).toBe("Spool");
    const datums = (put?.args[0].input.MetricData ?? []) as MetricDatum[];
    const published = datums.map((d) => `${d.MetricName}:${d.Dimensions?.[0]?.Value}=${d.Value}`);
    expect(published).toEqual([
      "EstimatedSecondsToDrain:busy=600",
      "DeadLetterQueueMessages:busy-dlq=5",
      "DeadLetterQueueGrowth:busy-dlq=3",
      "EstimatedSecondsToDrain:stuck=3600",
      "DeadLetterQueueMessages:stuck-dlq=2",
      "DeadLetterQueueGrowth:stuck-dlq=0",
      "DeadLetterQueueMessages:unknown-dlq=0",
      "DeadLetterQueueGrowth:unknown-dlq=0",
    ]);
    expect(datums.every((d) => d.Timestamp?.getTime() === now.getTime())).toBe(true);

    const queries = cwMock
      .commandCalls(GetMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricDataQueries ?? []);
    expect(queries.find((q) => q.Id === "deleted0")?.MetricStat).toMatchObject({
      Metric: {
        Namespace: "AWS/SQS",
        MetricName: "NumberOfMessagesDeleted",
        Dimensions: [{ Name: "QueueName", Value: "busy" }],
      },
      Stat: "Sum",
    });
    expect(queries.find((q) => q.Id === "baseline1")?.MetricStat).toMatchObject({
      Metric: { Namespace: "Spool", MetricName: "DeadLetterQueueMessages" },
      Stat: "Minimum",
    });
  });

  it("refuses an input that is not a sampler schedule's", () => {
    expect(SamplerInput.safeParse({ namespace: "Spool", queues: [] }).success).toBe(false);
  });
});
