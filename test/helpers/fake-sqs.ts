import { randomUUID } from "node:crypto";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";

export interface FakeMessage {
  readonly id: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  readonly system: Record<string, string>;
  visibleAt: number;
  receipt: string | undefined;
  receives: number;
}

/**
 * An in-memory SQS for unit tests of code that receives, hides, releases, sends and deletes:
 * visibility timeouts, receipt handles and receive counts behave as in SQS. A queue whose URL
 * ends in .fifo hands out a message group only while none of its messages is in flight, in
 * order, as SQS does. Time is the injected clock's. `refuse` makes SendMessage fail, and
 * SendMessageBatch fail the entries, it names a reason for (a partial batch failure).
 */
export function fakeSqs(clock: { now: () => number } = { now: () => Date.now() }) {
  const queues = new Map<string, FakeMessage[]>();
  const mock = mockClient(SQSClient);
  const queue = (url: string) => {
    let q = queues.get(url);
    if (!q) {
      q = [];
      queues.set(url, q);
    }
    return q;
  };
  const put = (
    url: string,
    body: string,
    attributes: Record<string, MessageAttributeValue> = {},
    system: Record<string, string> = {},
  ) => {
    const id = randomUUID();
    queue(url).push({
      id,
      body,
      attributes,
      system: { SentTimestamp: String(clock.now()), ...system },
      visibleAt: 0,
      receipt: undefined,
      receives: 0,
    });
    return id;
  };
  mock.on(ReceiveMessageCommand).callsFake((input) => {
    const now = clock.now();
    const all = queue(input.QueueUrl);
    const busy = new Set<string | undefined>();
    const visible = all
      .filter((m) => {
        if (!input.QueueUrl?.endsWith(".fifo")) return m.visibleAt <= now;
        // FIFO: a group is handed out in order, and not at all while one of it is in flight.
        const group = m.system.MessageGroupId;
        if (busy.has(group)) return false;
        if (m.visibleAt > now) busy.add(group);
        return m.visibleAt <= now;
      })
      .slice(0, input.MaxNumberOfMessages ?? 1);
    for (const m of visible) {
      m.receives++;
      m.receipt = randomUUID();
      m.visibleAt = now + (input.VisibilityTimeout ?? 30) * 1000;
    }
    return {
      Messages: visible.map((m) => ({
        MessageId: m.id,
        ReceiptHandle: m.receipt,
        Body: m.body,
        MessageAttributes: m.attributes,
        Attributes: { ...m.system, ApproximateReceiveCount: String(m.receives) },
      })),
    };
  });
  mock.on(ChangeMessageVisibilityBatchCommand).callsFake((input) => {
    const successful = [];
    for (const entry of input.Entries ?? []) {
      const m = queue(input.QueueUrl).find((x) => x.receipt === entry.ReceiptHandle);
      if (m) {
        m.visibleAt = clock.now() + (entry.VisibilityTimeout ?? 0) * 1000;
        successful.push({ Id: entry.Id });
      }
    }
    return { Successful: successful, Failed: [] };
  });
  mock.on(DeleteMessageCommand).callsFake((input) => {
    const q = queue(input.QueueUrl);
    const at = q.findIndex((m) => m.receipt === input.ReceiptHandle);
    if (at < 0)
      throw Object.assign(new Error("receipt handle is invalid"), {
        name: "ReceiptHandleIsInvalid",
      });
    q.splice(at, 1);
    return {};
  });
  mock.on(SendMessageCommand).callsFake((input) => {
    const reason = fake.refuse(input.MessageBody ?? "");
    if (reason) throw Object.assign(new Error(`refused: ${reason}`), { name: reason });
    const system: Record<string, string> = {};
    if (input.MessageGroupId) system.MessageGroupId = input.MessageGroupId;
    if (input.MessageDeduplicationId) system.MessageDeduplicationId = input.MessageDeduplicationId;
    return { MessageId: put(input.QueueUrl, input.MessageBody, input.MessageAttributes, system) };
  });
  mock.on(SendMessageBatchCommand).callsFake((input) => {
    const successful = [];
    const failed = [];
    for (const entry of input.Entries ?? []) {
      const reason = fake.refuse(entry.MessageBody ?? "");
      if (reason) {
        failed.push({ Id: entry.Id, Code: reason, Message: "refused", SenderFault: false });
        continue;
      }
      const system: Record<string, string> = {};
      if (entry.MessageGroupId) system.MessageGroupId = entry.MessageGroupId;
      if (entry.MessageDeduplicationId)
        system.MessageDeduplicationId = entry.MessageDeduplicationId;
      const id = put(input.QueueUrl, entry.MessageBody, entry.MessageAttributes, system);
      successful.push({ Id: entry.Id, MessageId: id, MD5OfMessageBody: "" });
    }
    return { Successful: successful, Failed: failed };
  });
  mock.on(DeleteMessageBatchCommand).callsFake((input) => {
    const successful = [];
    const failed = [];
    for (const entry of input.Entries ?? []) {
      const q = queue(input.QueueUrl);
      const at = q.findIndex((m) => m.receipt === entry.ReceiptHandle);
      if (at < 0) {
        failed.push({ Id: entry.Id, Code: "ReceiptHandleIsInvalid", SenderFault: true });
        continue;
      }
      q.splice(at, 1);
      successful.push({ Id: entry.Id });
    }
    return { Successful: successful, Failed: failed };
  });
  mock.on(GetQueueAttributesCommand).callsFake((input) => {
    const now = clock.now();
    const q = queue(input.QueueUrl);
    return {
      Attributes: {
        ApproximateNumberOfMessages: String(q.filter((m) => m.visibleAt <= now).length),
        ApproximateNumberOfMessagesNotVisible: String(q.filter((m) => m.visibleAt > now).length),
        ApproximateNumberOfMessagesDelayed: "0",
      },
    };
  });
  const fake = {
    /** A reason to refuse this body in a send, or undefined to take it. */
    refuse: (_body: string): string | undefined => undefined,
    mock,
    client: new SQSClient({ region: "us-east-1" }),
    put,
    messages: (url: string) => queue(url),
    visible: (url: string) => queue(url).filter((m) => m.visibleAt <= clock.now()),
  };
  return fake;
}
