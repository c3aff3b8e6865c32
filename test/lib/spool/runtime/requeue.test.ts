import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { requeue } from "../../../../lib/spool/runtime/requeue.js";
import { holdUntilDue } from "../../../../lib/spool/runtime/retry-delays.js";
import { sqsRecord, stringAttribute } from "../../../helpers/sqs.js";

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: "us-east-1" });
const sent = () => sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "copy" });
});

describe("copies of a standard queue's record keep its tenant", () => {
  // A standard queue's record carries a MessageGroupId only when its producer set one: the
  // tenant (tenant.ts), which SQS fair queues spread delivery by.
  const record = sqsRecord({
    messageId: "m-1",
    body: { id: "a" },
    attributes: { MessageGroupId: "acme" },
    messageAttributes: { "tenant-id": stringAttribute("acme") },
  });

  it("in a requeue and in a hold (the deferral's send)", async () => {
    await requeue(sqs, record, 3);
    await holdUntilDue(sqs, record, 2);
    for (const input of sent()) {
      expect(input).toMatchObject({
        MessageGroupId: "acme",
        MessageAttributes: { "tenant-id": { DataType: "String", StringValue: "acme" } },
      });
    }
    expect(sent()).toHaveLength(2);
  });

  it("and send none for a record without one", async () => {
    await requeue(sqs, sqsRecord({ messageId: "m-2", body: { id: "b" } }), 3);
    expect(sent()[0]?.MessageGroupId).toBeUndefined();
  });
});
