import { SNSClient, SubscribeCommand, UnsubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
} from "@aws-sdk/client-sqs";
import { config, sqs, uniqueId } from "./cloud.js";

export interface TopicInbox {
  readonly url: string;
  remove(): Promise<void>;
}

/**
 * A scratch queue subscribed to an SNS topic, to read what the topic sends. Its policy lets only
 * that topic deliver: as on AWS, an emulator enforcing IAM (MiniStack with AUTH=true) drops SNS
 * deliveries to a queue whose policy does not allow them.
 */
export async function topicInbox(topicArn: string): Promise<TopicInbox> {
  const name = uniqueId("alarm-inbox");
  const [, , , region, account] = topicArn.split(":");
  const queueArn = `arn:aws:sqs:${region}:${account}:${name}`;
  const Policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
      },
    ],
  });
  const { QueueUrl: url = "" } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: { Policy } }),
  );
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  const sns = new SNSClient(config);
  const { SubscriptionArn } = await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: "sqs",
      Endpoint: Attributes?.QueueArn ?? queueArn,
      ReturnSubscriptionArn: true,
    }),
  );
  return {
    url,
    async remove() {
      if (SubscriptionArn) await sns.send(new UnsubscribeCommand({ SubscriptionArn }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
      sns.destroy();
    },
  };
}
