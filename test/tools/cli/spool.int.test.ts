import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  CloudWatchClient,
  GetMetricDataCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import {
  EventBridgeClient,
  ListRuleNamesByTargetCommand,
  ListTargetsByRuleCommand,
} from "@aws-sdk/client-eventbridge";
import { GetFunctionCommand, InvokeCommand } from "@aws-sdk/client-lambda";
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEAD_LETTER_ATTRIBUTE } from "../../../lib/spool/runtime/dead-letter.js";
import { bufferIo } from "../../../tools/cli/lib/io.js";
import { REPLAY_ATTRIBUTE } from "../../../tools/cli/lib/replay.js";
import { runSpool } from "../../../tools/cli/spool.js";
import {
  config,
  ddb,
  lacks,
  lambda,
  output,
  queueCounts,
  sqs,
  uniqueId,
  waitFor,
} from "../../helpers/cloud.js";
import { attributeOf, cliEnv, putDeadLetter, spool, takeAll } from "../../helpers/operations.js";
import { type TopicInbox, topicInbox } from "../../helpers/topic-inbox.js";

// OpsLab and OpsLabFifo are test-only queues without consumers (lib/example/parts/operations.ts):
// these cases fill their DLQs directly and watch the CLI move what they put there. They share the
// two queues, so they run one after another; each tags its messages and filters on the tag.
const lab = () => output("OpsLabQueueUrl");
const labDlq = () => output("OpsLabDeadLetterQueueUrl");
const labFifo = () => output("OpsLabFifoQueueUrl");
const labFifoDlq = () => output("OpsLabFifoDeadLetterQueueUrl");
const launcher = fileURLToPath(new URL("../../../tools/cli/bin/spool.mjs", import.meta.url));

async function arnOf(queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  return Attributes?.QueueArn ?? "";
}

const mine =
  (tag: string) => (m: { MessageAttributes?: Record<string, { StringValue?: string }> }) =>
    m.MessageAttributes?.["test-run"]?.StringValue === tag;

describe("spool CLI against the emulator", () => {
  let labArn: string;
  let labFifoArn: string;

  beforeAll(async () => {
    labArn = await arnOf(lab());
    labFifoArn = await arnOf(labFifo());
    // Leftovers of an earlier run on the same emulator (delayed or in-flight messages) would
    // skew the counts; only a purge removes those.
    for (const url of [lab(), labDlq(), labFifo(), labFifoDlq()]) {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    }
  });

  it("status reports the depth and dead-letter counts it finds", async () => {
    const tag = uniqueId("status");
    const attributes = { "test-run": { DataType: "String", StringValue: tag } };
    for (const delay of [0, 0, 600]) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: lab(),
          MessageBody: "{}",
          DelaySeconds: delay,
          MessageAttributes: attributes,
        }),
      );
    }
    // One in flight: received and held (as a consumer would while working on it).
    const held = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: lab(), VisibilityTimeout: 120 }),
    );
    for (let i = 0; i < 3; i++) {
      await putDeadLetter(labDlq(), labArn, {
        body: `{"n":${i}}`,
        attributes: { "test-run": tag },
      });
    }

    const { code, json } = await spool("status", "--json");
    expect(code).toBe(0);
    const row = json.find((r: { queue: string }) => r.queue === "ops-lab");
    expect(row).toMatchObject({ visible: 1, inFlight: 1, delayed: 1, deadLetters: 3, fifo: false });
    expect(json.map((r: { queue: string }) => r.queue)).toEqual(
      expect.arrayContaining(["orders", "notifications", "ops-lab", "ops-lab-fifo"]),
    );

    const text = await spool("status");
    expect(text.out).toMatch(/ops-lab\s+1\s+1\s+1\s+\S+\s+3\s/);
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: lab(),
        ReceiptHandle: held.Messages?.[0]?.ReceiptHandle,
      }),
    );
    await takeAll(lab());
    await takeAll(labDlq());
  });

  it("status --watch refreshes until it is stopped, one JSON document per refresh", async () => {
    const io = bufferIo();
    const controller = new AbortController();
    const run = runSpool(["status", "--watch", "1", "--json"], {
      io,
      env: cliEnv(),
      signal: controller.signal,
    });
    await waitFor(async () => io.out().trim().split("\n").length >= 2, {
      what: "two refreshes",
      timeoutMs: 15_000,
    });
    controller.abort();
    expect(await run).toBe(0);
    const refreshes = io
      .out()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(refreshes.length).toBeGreaterThanOrEqual(2);
    for (const refresh of refreshes) {
      expect(refresh.queues.map((q: { queue: string }) => q.queue)).toContain("ops-lab");
    }
  });

  it("lists and shows dead letters without consuming them", async () => {
    const tag = uniqueId("list");
    const id = await putDeadLetter(labDlq(), labArn, {
      body: '{"order":"o-1"}',
      errorCode: "SCHEMA_INVALID",
      attributes: { "test-run": tag },
    });

    const list = await spool("dlq", "list", "ops-lab", "--json");
    expect(list.code).toBe(0);
    expect(list.json.find((l: { id: string }) => l.id === id)).toMatchObject({
      via: "spool",
      errorCode: "SCHEMA_INVALID",
      errorClass: "PermanentError",
      attempts: 1,
      sourceQueue: labArn,
      body: '{"order":"o-1"}',
    });
    const shown = await spool("dlq", "show", "ops-lab", id.slice(0, 13));
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`id:               ${id}`);
    expect(shown.out).toContain("SCHEMA_INVALID");
    // Still there, and visible at once for the next reader.
    expect((await queueCounts(labDlq())).inFlight).toBe(0);
    expect((await takeAll(labDlq())).map((m) => m.MessageId)).toContain(id);
  });

  it("replays nothing in a dry run", async () => {
    const tag = uniqueId("dry");
    for (const code of ["RECIPIENT_SUPPRESSED", "RECIPIENT_SUPPRESSED", "SCHEMA_INVALID"]) {
      await putDeadLetter(labDlq(), labArn, {
        body: "{}",
        errorCode: code,
        attributes: { "test-run": tag },
      });
    }
    const { code, json, out } = await spool(
      "dlq",
      "replay",
      "ops-lab",
      "--attribute",
      `test-run=${tag}`,
      "--error-code",
      "RECIPIENT_SUPPRESSED",
      "--dry-run",
      "--json",
    );
    expect(code).toBe(0);
    expect(json).toMatchObject({ dryRun: true, matched: 2, moved: 0 });
    expect(out).toContain('"dryRun": true');

    expect((await takeAll(lab())).filter(mine(tag))).toEqual([]);
    const letters = await takeAll(labDlq());
    expect(letters.filter(mine(tag))).toHaveLength(3);
  });

  it("moves exactly the matching dead letters, byte for byte, and audits who did it", async () => {
    const tag = uniqueId("filtered");
    const gold = ['{"tier":"gold","n":1}', '{ "tier" : "gold", "n": 2, "note": "ünïcode" }\n'];
    for (const body of gold) {
      await putDeadLetter(labDlq(), labArn, {
        body,
        errorCode: "RECIPIENT_SUPPRESSED",
        attributes: { "test-run": tag, "correlation-id": `corr-${tag}` },
      });
    }
    await putDeadLetter(labDlq(), labArn, {
      body: '{"tier":"silver"}',
      errorCode: "RECIPIENT_SUPPRESSED",
      attributes: { "test-run": tag },
    });
    await putDeadLetter(labDlq(), labArn, {
      body: '{"tier":"gold"}',
      errorCode: "SCHEMA_INVALID",
      attributes: { "test-run": tag },
    });

    const { code, json } = await spool(
      "dlq",
      "replay",
      "ops-lab",
      "--attribute",
      `test-run=${tag}`,
      "--error-class",
      "PermanentError",
      "--error-code",
      "RECIPIENT_SUPPRESSED",
      "--where",
      "tier == 'gold'",
      "--newer-than",
      "1h",
      "--json",
    );
    expect(code).toBe(0);
    expect(json).toMatchObject({ dryRun: false, matched: 2, moved: 2, failures: [] });

    const replayed = (await takeAll(lab())).filter(mine(tag));
    expect(replayed.map((m) => m.Body).sort()).toEqual([...gold].sort());
    for (const m of replayed) {
      expect(m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]).toBeUndefined();
      expect(attributeOf(m, "correlation-id")).toBe(`corr-${tag}`);
      expect(JSON.parse(attributeOf(m, REPLAY_ATTRIBUTE) ?? "{}")).toMatchObject({
        replayId: json.replayId,
      });
    }
    const left = (await takeAll(labDlq())).filter(mine(tag));
    expect(left.map((m) => m.Body).sort()).toEqual(['{"tier":"gold"}', '{"tier":"silver"}']);

    const { Items = [] } = await ddb.send(
      new QueryCommand({
        TableName: output("OperatorAuditTableName"),
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": `replay#${json.replayId}` },
      }),
    );
    expect(Items.map((i) => i.newMessageId).sort()).toEqual(
      replayed.map((m) => m.MessageId).sort(),
    );
    const history = await spool("dlq", "history", "ops-lab", "--json");
    expect(
      history.json.find((h: { replayId: string }) => h.replayId === json.replayId),
    ).toMatchObject({
      status: "completed",
      moved: 2,
      examined: expect.any(Number),
      filter: expect.stringContaining("body matches tier == 'gold'"),
      operator: { principal: expect.any(String), localUser: expect.any(String) },
    });
  });

  it("replays a FIFO dead-letter queue in order, keeping each message group", async () => {
    const tag = uniqueId("fifo");
    const group = `order-${tag}`;
    for (let seq = 1; seq <= 3; seq++) {
      await putDeadLetter(labFifoDlq(), labFifoArn, {
        body: `{"seq":${seq}}`,
        groupId: group,
        deduplicationId: `${tag}-${seq}`,
        attributes: { "test-run": tag },
      });
    }
    const { code, json } = await spool(
      "dlq",
      "replay",
      "ops-lab-fifo",
      "--attribute",
      `test-run=${tag}`,
      "--json",
    );
    expect(code).toBe(0);
    expect(json.moved).toBe(3);
    const replayed = (await takeAll(labFifo())).filter(mine(tag));
    expect(replayed.map((m) => m.Body)).toEqual(['{"seq":1}', '{"seq":2}', '{"seq":3}']);
    expect(replayed.map((m) => m.Attributes?.MessageGroupId)).toEqual([group, group, group]);
  });

  it("shows and replays a dead letter SQS moved itself, by what SQS knows of it", async () => {
    const tag = uniqueId("redrive");
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: lab(),
        MessageBody: `{"bare":"${tag}"}`,
        MessageAttributes: { "test-run": { DataType: "String", StringValue: tag } },
      }),
    );
    // OpsLab's maxReceiveCount is 2: two receives, and the next one moves it to the DLQ.
    for (let i = 0; i < 3; i++) {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: lab(), VisibilityTimeout: 0 }));
    }
    const letter = await waitFor(
      async () => {
        const list = await spool("dlq", "list", "ops-lab", "--json");
        return list.json?.find((l: { id: string }) => l.id === sent.MessageId);
      },
      { what: "the redrive-moved dead letter" },
    );
    expect(letter).toMatchObject({
      via: "redrive",
      reason: "redrive",
      errorCode: null,
      attempts: 2,
      sourceQueue: labArn,
      metadata: null,
    });
    const { json } = await spool(
      "dlq",
      "replay",
      "ops-lab",
      "--reason",
      "redrive",
      "--attribute",
      `test-run=${tag}`,
      "--json",
    );
    expect(json.moved).toBe(1);
    expect((await takeAll(lab())).filter(mine(tag)).map((m) => m.Body)).toEqual([
      `{"bare":"${tag}"}`,
    ]);
  });

  it("keeps the --rate: never faster than the limit", async () => {
    const tag = uniqueId("rate");
    const count = 9;
    const rate = 4;
    for (let i = 0; i < count; i++) {
      await putDeadLetter(labDlq(), labArn, {
        body: `{"n":${i}}`,
        attributes: { "test-run": tag },
      });
    }
    const started = performance.now();
    const { json } = await spool(
      "dlq",
      "replay",
      "ops-lab",
      "--attribute",
      `test-run=${tag}`,
      "--rate",
      String(rate),
      "--json",
    );
    const elapsedMs = performance.now() - started;
    expect(json.moved).toBe(count);
    // The first message goes at once and each later one waits 1/rate: a lower bound, with slack
    // for timer granularity. (How much slower than the limit it runs is a figure, not a test.)
    const floorMs = ((count - 1) / rate) * 1000;
    process.stderr.write(
      `[measure] --rate ${rate}: ${count} moved in ${(elapsedMs / 1000).toFixed(2)} s (${((count / elapsedMs) * 1000).toFixed(2)}/s; floor ${(floorMs / 1000).toFixed(2)} s)\n`,
    );
    expect(elapsedMs).toBeGreaterThanOrEqual(floorMs * 0.95);
    expect((await takeAll(lab())).filter(mine(tag))).toHaveLength(count);
  });

  it.skipIf(lacks("localstack", "has StartMessageMoveTask, so no fallback happens"))(
    "falls back to receive/send/delete for an unfiltered replay where SQS's move task is missing",
    async () => {
      const tag = uniqueId("unfiltered");
      await putDeadLetter(labDlq(), labArn, { body: "{}", attributes: { "test-run": tag } });
      const { code, json } = await spool("dlq", "replay", "ops-lab", "--json");
      expect(code).toBe(0);
      expect(json.method).toBe("receive-send-delete");
      expect(json.nativeUnavailable).toMatch(/InvalidAction/);
      expect((await takeAll(lab())).filter(mine(tag))).toHaveLength(1);
    },
  );

  it.skipIf(lacks("ministack", "StartMessageMoveTask answers InvalidAction"))(
    "uses SQS's move task for an unfiltered replay",
    async () => {
      const tag = uniqueId("native");
      await putDeadLetter(labDlq(), labArn, { body: "{}", attributes: { "test-run": tag } });
      const { json } = await spool("dlq", "replay", "ops-lab", "--json");
      expect(json.method).toBe("message-move-task");
      await waitFor(async () => (await takeAll(lab())).some(mine(tag)), {
        what: "the moved message",
      });
    },
  );

  describe("an interrupted replay loses nothing", () => {
    async function interrupted(signal: NodeJS.Signals) {
      await takeAll(lab());
      const tag = uniqueId(`kill-${signal.toLowerCase()}`);
      const count = 16;
      for (let i = 0; i < count; i++) {
        await putDeadLetter(labDlq(), labArn, {
          body: `{"n":${i}}`,
          attributes: { "test-run": tag },
        });
      }
      const child = spawn(
        process.execPath,
        [
          launcher,
          "dlq",
          "replay",
          "ops-lab",
          "--attribute",
          `test-run=${tag}`,
          "--rate",
          "4",
          "--hold",
          "5",
          "--json",
        ],
        { env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => resolve(code)),
      );
      // Some, but not all, have moved.
      await waitFor(async () => (await queueCounts(lab())).visible >= 3, {
        what: "the replay to move a few messages",
        intervalMs: 100,
      });
      expect(child.pid).toBeTypeOf("number");
      process.kill(child.pid as number, signal);
      const code = await exited;
      return { tag, count, code, stdout };
    }

    async function everyMessageIsSomewhere(tag: string, count: number) {
      // Whatever the killed replay held comes back when its 5 s hold ends.
      await waitFor(async () => (await queueCounts(labDlq())).inFlight === 0, {
        what: "the held dead letters to become visible",
        timeoutMs: 30_000,
      });
      const inDlq = (await takeAll(labDlq())).filter(mine(tag)).map((m) => m.Body);
      const inSource = (await takeAll(lab())).filter(mine(tag)).map((m) => m.Body);
      const all = new Set([...inDlq, ...inSource]);
      expect(all.size).toBe(count);
      expect(inSource.length).toBeGreaterThan(0);
      expect(inDlq.length).toBeGreaterThan(0);
      // A kill between a send and its delete may leave one message in both: a duplicate, not a loss.
      expect(inDlq.length + inSource.length - count).toBeLessThanOrEqual(1);
      return { inDlq, inSource };
    }

    it("when stopped with SIGTERM it releases what it holds and records the interruption", async () => {
      const { tag, count, code, stdout } = await interrupted("SIGTERM");
      expect(code).toBe(143);
      const outcome = JSON.parse(stdout);
      expect(outcome).toMatchObject({ interrupted: true });
      // Released at once, not after the hold.
      expect((await queueCounts(labDlq())).inFlight).toBe(0);
      const { inSource } = await everyMessageIsSomewhere(tag, count);
      expect(inSource).toHaveLength(outcome.moved);
      const history = await spool("dlq", "history", "ops-lab", "--json");
      expect(
        history.json.find((h: { replayId: string }) => h.replayId === outcome.replayId),
      ).toMatchObject({
        status: "interrupted",
        moved: outcome.moved,
      });
    });

    it("when killed with SIGKILL every message is still in the DLQ or back on its queue", async () => {
      const { tag, count, code } = await interrupted("SIGKILL");
      expect(code).toBeNull();
      await everyMessageIsSomewhere(tag, count);
    });
  });

  describe("alarms", () => {
    const cloudwatch = new CloudWatchClient(config);
    const events = new EventBridgeClient(config);
    let inbox: TopicInbox | undefined;
    let inboxUrl: string;

    beforeAll(async () => {
      inbox = await topicInbox(output("AlarmTopicArn"));
      inboxUrl = inbox.url;
    });

    afterAll(async () => {
      await inbox?.remove();
    });

    /** Runs the queue sampler once with the input its schedule carries. */
    async function sample() {
      const fn = await lambda.send(
        new GetFunctionCommand({ FunctionName: output("QueueSamplerFunctionName") }),
      );
      const { RuleNames = [] } = await events.send(
        new ListRuleNamesByTargetCommand({ TargetArn: fn.Configuration?.FunctionArn }),
      );
      const samples: {
        queueName: string;
        estimatedSecondsToDrain?: number;
        deadLetterGrowth: number;
      }[] = [];
      for (const rule of RuleNames) {
        const { Targets = [] } = await events.send(new ListTargetsByRuleCommand({ Rule: rule }));
        for (const target of Targets) {
          const result = await lambda.send(
            new InvokeCommand({
              FunctionName: output("QueueSamplerFunctionName"),
              Payload: Buffer.from(target.Input ?? "{}"),
            }),
          );
          expect(result.FunctionError).toBeUndefined();
          samples.push(...JSON.parse(Buffer.from(result.Payload ?? []).toString()).samples);
        }
      }
      return samples;
    }

    /** Every notification the inbox has received so far (read once each, kept here). */
    const notifications: { AlarmName?: string; NewStateValue?: string; Trigger?: unknown }[] = [];

    async function alarmNotification(alarmName: string) {
      return waitFor(
        async () => {
          // A fresh emulator's first evaluation moves many alarms at once: read them all.
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: inboxUrl,
              MaxNumberOfMessages: 10,
              VisibilityTimeout: 300,
            }),
          );
          for (const m of Messages) {
            notifications.push(JSON.parse(JSON.parse(m.Body ?? "{}").Message ?? "{}"));
          }
          return notifications.find(
            (n) => n.AlarmName === alarmName && n.NewStateValue === "ALARM",
          );
        },
        { what: `an ALARM notification for ${alarmName}`, intervalMs: 100 },
      );
    }

    it("publishes drain time and dead-letter growth, and their alarms notify the platform topic", async () => {
      const labName = lab().split("/").pop() as string;
      const labDlqName = labDlq().split("/").pop() as string;
      const drainAlarm = "Spool-queue-ops-lab-time-to-drain";
      const growthAlarm = "Spool-queue-ops-lab-dead-letter-growth";
      for (const AlarmName of [drainAlarm, growthAlarm]) {
        await cloudwatch.send(
          new SetAlarmStateCommand({ AlarmName, StateValue: "OK", StateReason: "test baseline" }),
        );
      }
      await takeAll(lab());
      await takeAll(labDlq());
      // The baseline sample: an empty DLQ.
      const before = await sample();
      expect(before.find((s) => s.queueName === labName)).toMatchObject({
        estimatedSecondsToDrain: 0,
      });

      for (let i = 0; i < 3; i++) {
        await sqs.send(new SendMessageCommand({ QueueUrl: lab(), MessageBody: "{}" }));
      }
      const tag = uniqueId("growth");
      for (let i = 0; i < 2; i++) {
        await putDeadLetter(labDlq(), await arnOf(lab()), {
          body: "{}",
          attributes: { "test-run": tag },
        });
      }
      // MiniStack publishes no SQS metrics; stand in for AWS with the one the sampler reads:
      // nothing was processed in the last minute.
      await cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: "AWS/SQS",
          MetricData: [
            {
              MetricName: "NumberOfMessagesDeleted",
              Dimensions: [{ Name: "QueueName", Value: labName }],
              Value: 0,
              Unit: "Count",
            },
          ],
        }),
      );

      const sampledFrom = new Date(Date.now() - 1_000);
      const after = (await sample()).find((s) => s.queueName === labName);
      const sampledUntil = new Date(Date.now() + 1_000);
      // A backlog nobody processes never drains: reported as the queue's retention (4 days).
      expect(after).toMatchObject({
        visible: 3,
        processingRatePerSecond: 0,
        estimatedSecondsToDrain: 345_600,
        deadLetters: 2,
        deadLetterBaseline: 0,
        deadLetterGrowth: 2,
      });
      const { MetricDataResults = [] } = await cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: sampledFrom,
          EndTime: sampledUntil,
          MetricDataQueries: [
            {
              Id: "drain",
              MetricStat: {
                Metric: {
                  Namespace: "Spool",
                  MetricName: "EstimatedSecondsToDrain",
                  Dimensions: [{ Name: "QueueName", Value: labName }],
                },
                Period: 1,
                Stat: "Maximum",
              },
            },
            {
              Id: "growth",
              MetricStat: {
                Metric: {
                  Namespace: "Spool",
                  MetricName: "DeadLetterQueueGrowth",
                  Dimensions: [{ Name: "QueueName", Value: labDlqName }],
                },
                Period: 1,
                Stat: "Maximum",
              },
            },
          ],
        }),
      );
      // What this sample published (the scheduled sampler may publish beside it every minute).
      expect(MetricDataResults.find((r) => r.Id === "drain")?.Values).toContain(345_600);
      expect(MetricDataResults.find((r) => r.Id === "growth")?.Values).toContain(2);

      const drain = await alarmNotification(drainAlarm);
      expect(drain.Trigger).toMatchObject({
        MetricName: "EstimatedSecondsToDrain",
        Namespace: "Spool",
      });
      const growth = await alarmNotification(growthAlarm);
      expect(growth.Trigger).toMatchObject({ MetricName: "DeadLetterQueueGrowth" });

      await takeAll(lab());
      await takeAll(labDlq());
    });
  });
});
