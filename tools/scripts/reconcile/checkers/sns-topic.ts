import {
  GetTopicAttributesCommand,
  SetTopicAttributesCommand,
  SNSClient,
} from "@aws-sdk/client-sns";
import type { Check, Props, ResourceChecker } from "../check.js";

/** MiniStack 1.5.33's CloudFormation drops a topic's KmsMasterKeyId; SetTopicAttributes takes it. */
function snsTopicChecks(sns: SNSClient, topicArn: string, props: Props): Check[] {
  if (props.KmsMasterKeyId === undefined) return [];
  return [
    {
      property: "KmsMasterKeyId",
      declared: props.KmsMasterKeyId,
      observe: async () =>
        (await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes
          ?.KmsMasterKeyId,
      fix: () =>
        sns.send(
          new SetTopicAttributesCommand({
            TopicArn: topicArn,
            AttributeName: "KmsMasterKeyId",
            AttributeValue: String(props.KmsMasterKeyId),
          }),
        ),
    },
  ];
}

export const snsTopic: ResourceChecker = {
  type: "AWS::SNS::Topic",
  connect: (config) => {
    const sns = new SNSClient(config);
    return (topicArn, props) => snsTopicChecks(sns, topicArn, props);
  },
};
