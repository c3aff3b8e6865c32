import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { SpoolCliError } from "./errors.js";
import type { ReplayTarget } from "./replay-send.js";
import { type QueueRef, queueNameOfUrl, type SourceQueue, type StackInventory } from "./stack.js";

/** A usage error: one line, exit 2, like a malformed option. */
const usage = (message: string) => new SpoolCliError(message, 2);

/**
 * The queue `spool dlq replay --to <ref>` sends to. A queue of the stack is named as the other
 * commands name it (its friendly name, SQS name or URL); a queue outside the stack (a quarantine
 * queue made by hand) by its URL. Refused, with one line and exit 2: an unknown queue, a
 * dead-letter queue (its own or any other: a replay would go round in a circle), and a FIFO
 * source into a standard target or the reverse (order and group ids would be lost, or a
 * standard message would have no group).
 */
export async function resolveReplayTarget(
  inventory: StackInventory,
  sqs: SQSClient,
  ref: string,
  source: SourceQueue & { deadLetterQueue: QueueRef },
): Promise<ReplayTarget> {
  const wanted = ref.trim();
  const deadLetterQueues = inventory.queues.flatMap((q) =>
    q.deadLetterQueue ? [q.deadLetterQueue] : [],
  );
  if (deadLetterQueues.some((d) => d.url === wanted || d.queueName === wanted)) {
    throw usage(`--to ${ref} is a dead-letter queue: replay into a queue a consumer reads`);
  }
  const inStack = inventory.queues.find(
    (q) => q.name === wanted || q.queueName === wanted || q.url === wanted,
  );
  const target = inStack
    ? {
        url: inStack.url,
        arn: inStack.arn,
        queueName: inStack.queueName,
        fifo: inStack.fifo,
        name: inStack.name,
        deadLetterQueueUrl: inStack.deadLetterQueue?.url,
      }
    : await outsideQueue(inventory, sqs, wanted, ref);
  if (target.fifo !== source.fifo) {
    throw usage(
      `--to ${target.name} is a ${target.fifo ? "FIFO" : "standard"} queue and ${source.name} is ${source.fifo ? "FIFO" : "standard"}: a replay keeps the kind of queue (message groups and order)`,
    );
  }
  return target;
}

async function outsideQueue(
  inventory: StackInventory,
  sqs: SQSClient,
  wanted: string,
  ref: string,
): Promise<ReplayTarget> {
  if (!/^https?:\/\//.test(wanted)) {
    const known = inventory.queues.map((q) => q.name).join(", ") || "none";
    throw usage(
      `--to ${ref}: no queue of that name in stack ${inventory.stackName} (its queues: ${known}); give a queue outside the stack by its URL`,
    );
  }
  let attributes: Record<string, string>;
  try {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: wanted,
        AttributeNames: ["QueueArn", "FifoQueue", "RedrivePolicy"],
      }),
    );
    attributes = Attributes;
  } catch (error) {
    throw usage(`--to ${ref}: no such queue (${(error as Error).name})`);
  }
  const arn = attributes.QueueArn ?? "";
  if (inventory.queues.some((q) => q.deadLetterQueue?.arn === arn)) {
    throw usage(`--to ${ref} is a dead-letter queue: replay into a queue a consumer reads`);
  }
  return {
    url: wanted,
    arn,
    queueName: queueNameOfUrl(wanted),
    fifo: attributes.FifoQueue === "true" || wanted.endsWith(".fifo"),
    name: queueNameOfUrl(wanted),
    deadLetterQueueUrl: await deadLetterQueueUrl(sqs, attributes.RedrivePolicy),
  };
}

/** The URL of the queue a RedrivePolicy names (undefined without one, or when unresolvable). */
async function deadLetterQueueUrl(
  sqs: SQSClient,
  redrivePolicy: string | undefined,
): Promise<string | undefined> {
  if (!redrivePolicy) return undefined;
  try {
    const arn = (JSON.parse(redrivePolicy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
    const [, , , , account, name] = arn?.split(":") ?? [];
    if (!name) return undefined;
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
    );
    return QueueUrl;
  } catch {
    // History then cannot look for dead letters of this queue, and says so.
    return undefined;
  }
}
