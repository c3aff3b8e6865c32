/** SQS queues: every attribute CloudFormation sets, restored with SetQueueAttributes. */
import {
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { Check, Props, ResourceChecker } from "../check.js";

const SQS_MUTABLE = new Set([
  "RedrivePolicy",
  "RedriveAllowPolicy",
  "VisibilityTimeout",
  "MessageRetentionPeriod",
  "DelaySeconds",
  "ReceiveMessageWaitTimeSeconds",
  "ContentBasedDeduplication",
  "DeduplicationScope",
  "FifoThroughputLimit",
  "SqsManagedSseEnabled",
  "KmsMasterKeyId",
]);
// A queue is FIFO or not from its creation on: checked, never fixed.
const SQS_CHECKED = [...SQS_MUTABLE, "FifoQueue"];

function sqsChecks(sqs: SQSClient, queueUrl: string, props: Props): Check[] {
  let cache: Promise<Record<string, string>> | undefined;
  const read = () => {
    cache ??= sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }))
      .then((r) => r.Attributes ?? {});
    return cache;
  };
  return SQS_CHECKED.filter((name) => props[name] !== undefined).map((name) => {
    const declared =
      typeof props[name] === "object" ? JSON.stringify(props[name]) : String(props[name]);
    return {
      property: name,
      declared: props[name],
      observe: async () => {
        cache = undefined;
        return (await read())[name];
      },
      ...(SQS_MUTABLE.has(name)
        ? {
            fix: () =>
              sqs.send(
                new SetQueueAttributesCommand({
                  QueueUrl: queueUrl,
                  Attributes: { [name]: declared },
                }),
              ),
          }
        : {}),
    };
  });
}

export const sqsQueue: ResourceChecker = {
  type: "AWS::SQS::Queue",
  connect: (config) => {
    const sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
    return (queueUrl, props) => sqsChecks(sqs, queueUrl, props);
  },
};
