import { randomUUID } from "node:crypto";
import {
  DescribeContinuousBackupsCommand,
  DescribeTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, type Message } from "@aws-sdk/client-sqs";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { inject } from "vitest";
import {
  type DeadLetterMetadata,
  parseDeadLetterMetadata,
} from "../../lib/spool/runtime/dead-letter.js";
import {
  localClients,
  functionLogLines as logLines,
  takeMatching,
} from "../../tools/scripts/lib/aws.js";

export const clients = localClients();
export const { config, sqs, ddb, logs, lambda } = clients;

/** The deployed stack's outputs, handed over by the integration global setup. */
export function outputs(): Record<string, string> {
  return inject("outputs");
}

export function output(name: string): string {
  const value = outputs()[name];
  if (!value) throw new Error(`stack output ${name} is missing`);
  return value;
}

export function emulatorKind(): "ministack" | "localstack" {
  return inject("emulator");
}

/** A short id unique to this test run, so parallel files and reruns never share keys. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly what?: string;
}

/** Polls until `probe` returns a value other than undefined/false, or fails at the deadline. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false | null>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 250, what = "condition" } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`,
  );
}

/** A deployed table's TTL attribute and status, and whether point-in-time recovery is on. */
export async function tableRecovery(TableName: string) {
  const [ttl, backups] = await Promise.all([
    ddb.send(new DescribeTimeToLiveCommand({ TableName })),
    ddb.send(new DescribeContinuousBackupsCommand({ TableName })),
  ]);
  return {
    ttl: ttl.TimeToLiveDescription,
    pitr: backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription
      ?.PointInTimeRecoveryStatus,
  };
}

export async function getItem(table: string, key: Record<string, string>) {
  return (await ddb.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })))
    .Item;
}

export interface DeadLetter {
  readonly message: Message;
  readonly metadata: DeadLetterMetadata | undefined;
}

/**
 * Takes the dead letters this test owns out of a DLQ: receives, keeps (and deletes) those that
 * match, and makes the others visible again at once so parallel tests still find theirs.
 */
export async function takeDeadLetters(
  queueUrl: string,
  match: (message: Message) => boolean,
  expected: number,
  options: WaitOptions = {},
): Promise<DeadLetter[]> {
  const taken: DeadLetter[] = [];
  await waitFor(
    async () => {
      for (const m of await takeMatching(sqs, queueUrl, match)) {
        taken.push({ message: m, metadata: parseDeadLetterMetadata(m.MessageAttributes) });
      }
      return taken.length >= expected;
    },
    {
      what: `${expected} dead letter(s) in ${queueUrl}`,
      timeoutMs: 60_000,
      intervalMs: 500,
      ...options,
    },
  );
  return taken;
}

export function bodyOf(message: Message): Record<string, unknown> {
  return JSON.parse(message.Body ?? "null") as Record<string, unknown>;
}

export async function queueCounts(queueUrl: string) {
  const attributes =
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
          ],
        }),
      )
    ).Attributes ?? {};
  return {
    visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** The structured (JSON) log lines a function wrote that mention `needle`. */
export function functionLogLines(functionName: string, needle: string) {
  return logLines(clients, functionName, needle);
}

/**
 * True when the emulator under test is `kind`, after printing why the test will be skipped.
 * Use as `it.skipIf(lacks("localstack", "its Scheduler does not fire targets"))(…)`, so a gap is
 * always reported with its reason and never passes silently.
 */
export function lacks(kind: "ministack" | "localstack", reason: string): boolean {
  const skip = emulatorKind() === kind;
  if (skip) process.stderr.write(`[skip] ${kind}: ${reason}\n`);
  return skip;
}
