import { randomUUID } from "node:crypto";
import { PurgeQueueCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { DEAD_LETTER_ATTRIBUTE } from "../../lib/spool/runtime/dead-letter.js";
import { bufferIo } from "../cli/lib/io.js";
import { runSpool } from "../cli/spool.js";
import type { LocalClients } from "../scripts/lib/aws.js";
import { localEndpoint } from "../scripts/lib/local-cloud.js";
import type { Figure } from "./run.js";
import { percentile } from "./stats.js";

async function spool(...argv: string[]) {
  const io = bufferIo();
  const started = performance.now();
  const code = await runSpool(argv, {
    io,
    env: { ...process.env, AWS_ENDPOINT_URL: localEndpoint() },
  });
  if (code !== 0) throw new Error(`spool ${argv.join(" ")}: ${io.err()}`);
  return { ms: performance.now() - started, json: JSON.parse(io.out()) };
}

/**
 * The operator CLI's figures on the consumer-less OpsLab queue (a test-hooks deployment):
 * `spool status`, and a dry run and an unthrottled replay of `count` dead letters.
 */
export async function measureOperations(
  clients: LocalClients,
  output: (name: string) => string,
  count = 200,
): Promise<Figure[]> {
  const dlq = output("OpsLabDeadLetterQueueUrl");
  const tag = `bench-${randomUUID().slice(0, 8)}`;
  for (let i = 0; i < count; i += 10) {
    await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: dlq,
        Entries: Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
          Id: `m${j}`,
          MessageBody: JSON.stringify({ n: i + j }),
          MessageAttributes: {
            bench: { DataType: "String", StringValue: tag },
            [DEAD_LETTER_ATTRIBUTE]: {
              DataType: "String",
              StringValue: JSON.stringify({
                version: 1,
                reason: "permanent-failure",
                errorClass: "PermanentError",
                errorCode: "BENCH",
                errorMessage: "bench",
                messageId: `bench-${i + j}`,
                attempts: 1,
                firstFailureAt: new Date().toISOString(),
                lastFailureAt: new Date().toISOString(),
                sourceQueue: "bench",
                correlationId: "bench",
                schemaVersion: null,
                consumer: "bench",
              }),
            },
          },
        })),
      }),
    );
  }
  const status: number[] = [];
  for (let i = 0; i < 5; i++) status.push((await spool("status", "--json")).ms);
  const filter = ["--attribute", `bench=${tag}`, "--json"];
  const dry = await spool("dlq", "replay", "ops-lab", ...filter, "--dry-run");
  const moved = await spool("dlq", "replay", "ops-lab", ...filter, "--hold", "120");
  await clients.sqs.send(new PurgeQueueCommand({ QueueUrl: output("OpsLabQueueUrl") }));

  const schedules: number[] = [];
  for (let i = 0; i < 5; i++) schedules.push((await spool("schedules", "list", "--json")).ms);
  // Any job the run has left (the saga figures make some); none on a fresh emulator.
  const [job] = (await spool("jobs", "list", "--limit", "1", "--json")).json.jobs as {
    jobId: string;
  }[];
  const jobShow: number[] = [];
  for (let i = 0; job && i < 5; i++)
    jobShow.push((await spool("jobs", "show", job.jobId, "--json")).ms);
  return [
    {
      name: "spool schedules list (delayed-task schedules + 3 jobs), p50",
      value: percentile(schedules, 50),
      unit: "ms",
      note: "in-process, stack inventory read each time",
    },
    ...(jobShow.length
      ? [
          {
            name: "spool jobs show (job + execution history), p50",
            value: percentile(jobShow, 50),
            unit: "ms",
            note: "in-process, stack inventory read each time",
          },
        ]
      : []),
    {
      name: "spool status (4 queues), p50",
      value: percentile(status, 50),
      unit: "ms",
      note: "in-process, stack inventory read each time",
    },
    {
      name: `spool dlq replay --dry-run, ${dry.json.examined} dead letters`,
      value: dry.json.examined / (dry.ms / 1000),
      unit: "msg/s",
      note: "read and released, nothing moved",
    },
    {
      name: `spool dlq replay, ${moved.json.moved} dead letters, no --rate`,
      value: moved.json.moved / (moved.ms / 1000),
      unit: "msg/s",
      note: "send, then delete, then an audit item, one message at a time",
    },
  ];
}
