import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDatum,
  PutMetricDataCommand,
  StandardUnit,
} from "@aws-sdk/client-cloudwatch";
import {
  GetQueueAttributesCommand,
  type QueueAttributeName,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SamplerInput } from "./sampler-schema.js";

export interface SamplerDeps {
  readonly sqs: SQSClient;
  readonly cloudwatch: CloudWatchClient;
  readonly now: () => Date;
}

export interface QueueSample {
  readonly queueName: string;
  readonly visible: number;
  /** Messages deleted per second over the rate window; undefined when CloudWatch has no data. */
  readonly processingRatePerSecond: number | undefined;
  /** Undefined (and not published) when the rate is unknown and the queue is not empty. */
  readonly estimatedSecondsToDrain: number | undefined;
  readonly deadLetterQueueName: string;
  /** Visible plus in-flight messages in the dead-letter queue. */
  readonly deadLetters: number;
  /** The lowest dead-letter count sampled within the growth window, if any sample exists. */
  readonly deadLetterBaseline: number | undefined;
  readonly deadLetterGrowth: number;
}

const MINUTE = 60;
const MAX_QUERIES_PER_CALL = 500;
const MAX_DATUMS_PER_CALL = 1_000;

/** The last path segment of a queue URL is its name (the QueueName dimension of SQS metrics). */
export function queueNameOf(queueUrl: string): string {
  const name = queueUrl.split("/").filter(Boolean).pop();
  if (!name) throw new Error(`not a queue URL: ${queueUrl}`);
  return name;
}

/**
 * Seconds to drain the visible backlog at `ratePerSecond`. An empty queue drains in 0; a backlog
 * with no processing at all never drains, which is reported as the queue's retention period (by
 * then its messages expire), so an alarm threshold below that always fires for it.
 */
export function estimateSecondsToDrain(
  visible: number,
  ratePerSecond: number | undefined,
  retentionSeconds: number,
): number | undefined {
  if (visible <= 0) return 0;
  if (ratePerSecond === undefined) return undefined;
  if (ratePerSecond <= 0) return retentionSeconds;
  return Math.min(retentionSeconds, Math.round(visible / ratePerSecond));
}

/** Growth is the count above its lowest sample within the window (0 without a sample). */
export function deadLetterGrowth(count: number, baseline: number | undefined): number {
  return baseline === undefined ? 0 : Math.max(0, count - baseline);
}

async function attributes(sqs: SQSClient, queueUrl: string, names: QueueAttributeName[]) {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }),
  );
  return (name: QueueAttributeName) => Number(Attributes[name] ?? 0);
}

async function metricValues(
  cloudwatch: CloudWatchClient,
  queries: MetricDataQuery[],
  start: Date,
  end: Date,
): Promise<Map<string, number[]>> {
  const values = new Map<string, number[]>();
  for (let i = 0; i < queries.length; i += MAX_QUERIES_PER_CALL) {
    let nextToken: string | undefined;
    do {
      const page = await cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries.slice(i, i + MAX_QUERIES_PER_CALL),
          StartTime: start,
          EndTime: end,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const result of page.MetricDataResults ?? []) {
        if (!result.Id) continue;
        values.set(result.Id, [...(values.get(result.Id) ?? []), ...(result.Values ?? [])]);
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return values;
}

/**
 * Samples every queue once: the backlog and dead-letter counts from SQS (exact and current), the
 * processing rate from SQS's NumberOfMessagesDeleted metric, and the dead-letter baseline from
 * this sampler's own earlier samples; then publishes EstimatedSecondsToDrain,
 * DeadLetterQueueMessages and DeadLetterQueueGrowth for plain CloudWatch alarms to watch.
 */
export async function sampleQueues(input: SamplerInput, deps: SamplerDeps): Promise<QueueSample[]> {
  const now = deps.now();
  const counts = await Promise.all(
    input.queues.map(async (q) => {
      const [source, dlq] = await Promise.all([
        attributes(deps.sqs, q.queueUrl, ["ApproximateNumberOfMessages", "MessageRetentionPeriod"]),
        attributes(deps.sqs, q.deadLetterQueueUrl, [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
        ]),
      ]);
      return {
        queueName: queueNameOf(q.queueUrl),
        deadLetterQueueName: queueNameOf(q.deadLetterQueueUrl),
        visible: source("ApproximateNumberOfMessages"),
        retentionSeconds: source("MessageRetentionPeriod") || 345_600,
        deadLetters:
          dlq("ApproximateNumberOfMessages") + dlq("ApproximateNumberOfMessagesNotVisible"),
      };
    }),
  );

  const rateQueries: MetricDataQuery[] = counts.map((c, i) => ({
    Id: `deleted${i}`,
    MetricStat: {
      Metric: {
        Namespace: "AWS/SQS",
        MetricName: "NumberOfMessagesDeleted",
        Dimensions: [{ Name: "QueueName", Value: c.queueName }],
      },
      Period: MINUTE,
      Stat: "Sum",
    },
  }));
  const baselineQueries: MetricDataQuery[] = counts.map((c, i) => ({
    Id: `baseline${i}`,
    MetricStat: {
      Metric: {
        Namespace: input.namespace,
        MetricName: "DeadLetterQueueMessages",
        Dimensions: [{ Name: "QueueName", Value: c.deadLetterQueueName }],
      },
      Period: MINUTE,
      Stat: "Minimum",
    },
  }));
  const since = (seconds: number) => new Date(now.getTime() - seconds * 1000);
  const [rates, baselines] = await Promise.all([
    metricValues(deps.cloudwatch, rateQueries, since(input.rateWindowSeconds), now),
    metricValues(deps.cloudwatch, baselineQueries, since(input.growthWindowSeconds), now),
  ]);

  const samples: QueueSample[] = counts.map((c, i) => {
    const deleted = rates.get(`deleted${i}`) ?? [];
    // One datapoint per minute SQS reported; averaging over those minutes (not the whole window)
    // keeps a metric that lags by a minute or two from reading as a slowdown.
    const processingRatePerSecond = deleted.length
      ? deleted.reduce((a, b) => a + b, 0) / (deleted.length * MINUTE)
      : undefined;
    const earlier = baselines.get(`baseline${i}`) ?? [];
    const deadLetterBaseline = earlier.length ? Math.min(...earlier) : undefined;
    return {
      queueName: c.queueName,
      visible: c.visible,
      processingRatePerSecond,
      estimatedSecondsToDrain: estimateSecondsToDrain(
        c.visible,
        processingRatePerSecond,
        c.retentionSeconds,
      ),
      deadLetterQueueName: c.deadLetterQueueName,
      deadLetters: c.deadLetters,
      deadLetterBaseline,
      deadLetterGrowth: deadLetterGrowth(c.deadLetters, deadLetterBaseline),
    };
  });

  const datums: MetricDatum[] = samples.flatMap((s) => {
    const queue = [{ Name: "QueueName", Value: s.queueName }];
    const dlq = [{ Name: "QueueName", Value: s.deadLetterQueueName }];
    return [
      ...(s.estimatedSecondsToDrain === undefined
        ? []
        : [
            {
              MetricName: "EstimatedSecondsToDrain",
              Dimensions: queue,
              Value: s.estimatedSecondsToDrain,
              Unit: StandardUnit.Seconds,
              Timestamp: now,
            },
          ]),
      {
        MetricName: "DeadLetterQueueMessages",
        Dimensions: dlq,
        Value: s.deadLetters,
        Unit: StandardUnit.Count,
        Timestamp: now,
      },
      {
        MetricName: "DeadLetterQueueGrowth",
        Dimensions: dlq,
        Value: s.deadLetterGrowth,
        Unit: StandardUnit.Count,
        Timestamp: now,
      },
    ];
  });
  for (let i = 0; i < datums.length; i += MAX_DATUMS_PER_CALL) {
    await deps.cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: input.namespace,
        MetricData: datums.slice(i, i + MAX_DATUMS_PER_CALL),
      }),
    );
  }
  return samples;
}
