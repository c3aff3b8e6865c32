import {
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { localClientConfig } from "../../../../../tools/scripts/lib/local-cloud.js";
import { sqsQueue } from "../../../../../tools/scripts/reconcile/checkers/sqs-queue.js";
import { compareAndFix } from "../../../../../tools/scripts/reconcile/compare.js";
import { checkFor } from "../../../../helpers/reconcile.js";

const sqs = mockClient(SQSClient);
const QueueUrl = "http://127.0.0.1:4571/000000000000/orders.fifo";
const checksOf = sqsQueue.connect(localClientConfig({ AWS_ENDPOINT_URL: "http://127.0.0.1:4571" }));

afterEach(() => sqs.reset());

describe("SQS queue checker", () => {
  it("checks only what the template declares, and never fixes FifoQueue", () => {
    const checks = checksOf(QueueUrl, { FifoQueue: true, VisibilityTimeout: 30, QueueName: "x" });
    expect(checks.map((c) => [c.property, c.fix !== undefined])).toEqual([
      ["VisibilityTimeout", true],
      ["FifoQueue", false],
    ]);
  });

  it("restores a dropped redrive policy as the JSON string SQS takes", async () => {
    const redrive = {
      deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:dlq",
      maxReceiveCount: 5,
    };
    sqs
      .on(GetQueueAttributesCommand)
      .resolvesOnce({ Attributes: {} })
      .resolves({ Attributes: { RedrivePolicy: JSON.stringify(redrive) } });
    sqs.on(SetQueueAttributesCommand).resolves({});
    const check = checkFor(checksOf(QueueUrl, { RedrivePolicy: redrive }), "RedrivePolicy");
    expect(await compareAndFix(check)).toMatchObject({
      action: "fixed",
      observed: undefined,
    });
    expect(sqs.commandCalls(SetQueueAttributesCommand)[0]?.args[0].input).toEqual({
      QueueUrl,
      Attributes: { RedrivePolicy: JSON.stringify(redrive) },
    });
  });
});
