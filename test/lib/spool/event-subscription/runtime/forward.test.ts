import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { forwardEvent } from "../../../../../lib/spool/event-subscription/runtime/forward.js";
import { createEvent } from "../../../../../lib/spool/runtime/envelope.js";
import {
  PAYLOAD_SIZE_ATTRIBUTE,
  parsePointer,
  resolveBody,
} from "../../../../../lib/spool/runtime/payload-pointer.js";
import { FakePayloadObjects } from "../../../../helpers/fake-payload-objects.js";

const sqs = mockClient(SQSClient);
const BUCKET = "payloads";
beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: "fifo-1" });
});

const placed = (note: string) =>
  createEvent({
    id: "evt-1",
    type: "OrderPlaced",
    schemaVersion: "1.0",
    source: "spool.checkout",
    data: { orderId: "o-1", note },
  });

describe("the FIFO forwarder with a payload store", () => {
  it("re-sends a large event through the store, as a pointer its FIFO consumer resolves", async () => {
    const objects = new FakePayloadObjects();
    const event = placed("n".repeat(600_000));
    await forwardEvent(event, {
      sqs: new SQSClient({ region: "us-east-1" }),
      queueUrl: "https://sqs.local/000000000000/payments.fifo",
      groupIdPath: "data.orderId",
      offload: { bucket: BUCKET, objects },
    });
    const input = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ MessageGroupId: "o-1", MessageDeduplicationId: "evt-1" });
    expect(input?.MessageAttributes?.[PAYLOAD_SIZE_ATTRIBUTE]?.StringValue).toBe(
      String(Buffer.byteLength(JSON.stringify(event))),
    );
    expect(parsePointer(input?.MessageBody ?? "")).toMatchObject({ bucket: BUCKET });
    const resolved = await resolveBody(input?.MessageBody ?? "", input?.MessageAttributes, {
      bucket: BUCKET,
      objects,
    });
    expect(JSON.parse(resolved)).toEqual(event);
  });

  it("sends a small event inline, writing nothing", async () => {
    const objects = new FakePayloadObjects();
    const event = placed("small");
    await forwardEvent(event, {
      sqs: new SQSClient({ region: "us-east-1" }),
      queueUrl: "https://sqs.local/000000000000/payments.fifo",
      groupIdPath: "data.orderId",
      offload: { bucket: BUCKET, objects },
    });
    const input = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(JSON.parse(input?.MessageBody ?? "{}")).toEqual(event);
    expect(objects.puts).toEqual([]);
  });
});
