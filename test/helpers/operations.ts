import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import {
  DEAD_LETTER_ATTRIBUTE,
  type DeadLetterMetadata,
} from "../../lib/spool/runtime/dead-letter.js";
import { bufferIo } from "../../tools/cli/lib/io.js";
import { runSpool } from "../../tools/cli/spool.js";
import { localEndpoint } from "../../tools/scripts/lib/local-cloud.js";
import { sqs } from "./cloud.js";

/** The environment the CLI runs with in tests: always the emulator, never real AWS. */
export function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, AWS_ENDPOINT_URL: localEndpoint() };
}

/** Runs `spool <argv>` in this process; `json` is stdout parsed when it is JSON. */
export async function spool(...argv: string[]) {
  const io = bufferIo();
  const code = await runSpool(argv, { io, env: cliEnv() });
  let json: unknown;
  try {
    json = JSON.parse(io.out());
  } catch {
    json = undefined;
  }
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape the command printed
  return { code, out: io.out(), err: io.err(), json: json as any };
}

/** Receives and deletes every visible message of a queue nobody consumes; returns them. */
export async function takeAll(queueUrl: string): Promise<Message[]> {
  const taken: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) {
      empty++;
      continue;
    }
    empty = 0;
    taken.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: `m${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return taken;
}

export interface LabDeadLetter {
  readonly body: string;
  readonly errorCode?: string;
  readonly errorClass?: string;
  readonly attributes?: Record<string, string>;
  readonly groupId?: string;
  readonly deduplicationId?: string;
}

/** Puts a dead letter straight into a DLQ, shaped as a Spool consumer would have sent it. */
export async function putDeadLetter(
  dlqUrl: string,
  sourceArn: string,
  letter: LabDeadLetter,
): Promise<string> {
  const now = new Date().toISOString();
  const metadata: DeadLetterMetadata = {
    version: 1,
    reason: "permanent-failure",
    errorClass: letter.errorClass ?? "PermanentError",
    errorCode: letter.errorCode ?? "LAB_FAILURE",
    errorMessage: `lab failure ${letter.errorCode ?? "LAB_FAILURE"}`,
    messageId: `original-${Math.random().toString(36).slice(2)}`,
    attempts: 1,
    firstFailureAt: now,
    lastFailureAt: now,
    sourceQueue: sourceArn,
    correlationId: "lab-correlation",
    schemaVersion: null,
    ...(letter.groupId ? { messageGroupId: letter.groupId } : {}),
    consumer: "ops-lab",
  };
  const attributes: Record<string, MessageAttributeValue> = {
    [DEAD_LETTER_ATTRIBUTE]: { DataType: "String", StringValue: JSON.stringify(metadata) },
  };
  for (const [name, value] of Object.entries(letter.attributes ?? {})) {
    attributes[name] = { DataType: "String", StringValue: value };
  }
  const sent = await sqs.send(
    new SendMessageCommand({
      QueueUrl: dlqUrl,
      MessageBody: letter.body,
      MessageAttributes: attributes,
      ...(letter.groupId
        ? {
            MessageGroupId: letter.groupId,
            MessageDeduplicationId: letter.deduplicationId ?? `${letter.groupId}-${Math.random()}`,
          }
        : {}),
    }),
  );
  return sent.MessageId ?? "";
}

export const attributeOf = (m: Message, name: string) => m.MessageAttributes?.[name]?.StringValue;
