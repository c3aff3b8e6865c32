/**
 * Dead-letter expiry on the emulator: the test-only ExpiryLab queue (lib/example/parts/
 * operations.ts) keeps dead letters 120 s, so SpoolMonitoring's default margins put its warning at
 * an age over 60 s and its page over 90 s. A letter is put in the dead-letter queue and left to
 * age: both alarms must reach the alarm topic while the letter is still there, and SQS must then
 * drop it at its retention (so the window the alarms leave is real, not assumed).
 *
 * MiniStack publishes no AWS/SQS metrics, so the test stands in for SQS: while the letter is in
 * the queue it publishes ApproximateAgeOfOldestMessage for the dead-letter queue, every two
 * seconds, as its age. MiniStack also evaluates an alarm on every datapoint of its metric name,
 * whatever the dimensions (docs/emulator-matrix.md), so that the alarms watch this queue is
 * checked on their definitions. Nothing else in the suite publishes this metric.
 */
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricStatisticsCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { config, output, queueCounts, sqs, uniqueId, waitFor } from "../../../helpers/cloud.js";
import { type TopicInbox, topicInbox } from "../../../helpers/topic-inbox.js";

const cloudwatch = new CloudWatchClient(config);
const PAGE = "Spool-queue-expiry-lab-dead-letter-expiry";
const WARNING = `${PAGE}-warning`;
const RETENTION_S = 120;
const METRIC = "ApproximateAgeOfOldestMessage";

interface Seen {
  /** The letter's age when the notification was read (it left a little earlier). */
  readonly ageS: number;
  /** Whether the letter was still in the dead-letter queue then. */
  readonly letterThere: boolean;
}

describe("dead-letter expiry alarms (ExpiryLab: dead letters kept 120 s)", () => {
  let inbox: TopicInbox | undefined;
  afterAll(async () => {
    await inbox?.remove();
    for (const AlarmName of [PAGE, WARNING]) {
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName, StateValue: "OK", StateReason: "test done" }),
      );
    }
  });

  it("warns, then pages, while the oldest dead letter is still there; SQS then drops it at its retention", async () => {
    const dlqUrl = output("ExpiryLabDeadLetterQueueUrl");
    const dlqName = dlqUrl.split("/").pop() as string;
    const topic = output("AlarmTopicArn");

    // The alarms, as deployed: on this queue's age, at retention minus each margin, to the topic.
    const { MetricAlarms = [] } = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: [PAGE, WARNING] }),
    );
    const byName = new Map(MetricAlarms.map((a) => [a.AlarmName, a]));
    for (const [name, threshold] of [
      [WARNING, RETENTION_S / 2],
      [PAGE, RETENTION_S - RETENTION_S / 4],
    ] as const) {
      expect(byName.get(name), name).toMatchObject({
        Namespace: "AWS/SQS",
        MetricName: METRIC,
        Dimensions: [{ Name: "QueueName", Value: dlqName }],
        Threshold: threshold,
        ComparisonOperator: "GreaterThanThreshold",
        AlarmActions: [topic],
      });
    }

    // A rerun on the same deployment waits out the last run's datapoints (the alarms' 5-minute
    // window): the emulator would otherwise count them against the new letter.
    await waitFor(
      async () => {
        const { Datapoints = [] } = await cloudwatch.send(
          new GetMetricStatisticsCommand({
            Namespace: "AWS/SQS",
            MetricName: METRIC,
            Dimensions: [{ Name: "QueueName", Value: dlqName }],
            StartTime: new Date(Date.now() - 330_000),
            EndTime: new Date(Date.now() + 60_000),
            Period: 60,
            Statistics: ["Maximum"],
          }),
        );
        return Datapoints.length === 0;
      },
      { what: "an earlier run's age datapoints to leave the window", timeoutMs: 360_000 },
    );
    for (const AlarmName of [PAGE, WARNING]) {
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName, StateValue: "OK", StateReason: "baseline" }),
      );
    }
    inbox = await topicInbox(topic);
    const inboxUrl = inbox.url;

    const letter = uniqueId("expiring");
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: letter }));
    const sentAt = Date.now();
    const ageS = () => (Date.now() - sentAt) / 1000;
    const letterThere = async () => {
      const counts = await queueCounts(dlqUrl);
      return counts.visible + counts.inFlight + counts.delayed > 0;
    };

    const seen = new Map<string, Seen>();
    await waitFor(
      async () => {
        const there = await letterThere();
        if (there) {
          await cloudwatch.send(
            new PutMetricDataCommand({
              Namespace: "AWS/SQS",
              MetricData: [
                {
                  MetricName: METRIC,
                  Dimensions: [{ Name: "QueueName", Value: dlqName }],
                  Value: Math.floor(ageS()),
                  Unit: "Seconds",
                },
              ],
            }),
          );
        }
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: inboxUrl, MaxNumberOfMessages: 10 }),
        );
        for (const m of Messages) {
          const n = JSON.parse(JSON.parse(m.Body ?? "{}").Message ?? "{}") as {
            AlarmName?: string;
            NewStateValue?: string;
          };
          if (n.NewStateValue === "ALARM" && n.AlarmName && !seen.has(n.AlarmName)) {
            seen.set(n.AlarmName, { ageS: ageS(), letterThere: await letterThere() });
          }
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: inboxUrl, ReceiptHandle: m.ReceiptHandle }),
          );
        }
        return seen.has(PAGE) && seen.has(WARNING);
      },
      { what: "both expiry alarms to notify", timeoutMs: 150_000, intervalMs: 2_000 },
    );

    const warning = seen.get(WARNING) as Seen;
    const page = seen.get(PAGE) as Seen;
    // Each fired once its threshold was crossed (not on a stale datapoint), the warning first,
    // and both while the letter could still be archived or replayed.
    expect(warning.ageS).toBeGreaterThan(RETENTION_S / 2);
    expect(page.ageS).toBeGreaterThan(RETENTION_S * 0.75);
    expect(warning.ageS).toBeLessThan(page.ageS);
    expect(warning.letterThere).toBe(true);
    expect(page.letterThere).toBe(true);
    expect(page.ageS).toBeLessThan(RETENTION_S);

    // ...and the window was real: SQS drops the letter at its retention, not before.
    await waitFor(async () => !(await letterThere()), {
      what: "the dead letter to expire",
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });
    expect(ageS()).toBeGreaterThanOrEqual(RETENTION_S - 1);
  }, 700_000);
});
