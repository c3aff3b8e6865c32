import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type AwsTarget, clientConfig } from "./target.js";

// Where the clients point lives apart, in target.ts, so that the CLI can name its endpoint in an
// error without loading the SDK; it is exported here too, beside the clients it configures.
export { type AwsTarget, clientConfig, resolveTarget } from "./target.js";

/** The SDK clients a command needs, created on first use. */
export class AwsClients {
  readonly target: AwsTarget;
  #sqs?: SQSClient;
  #cloudformation?: CloudFormationClient;
  #cloudwatch?: CloudWatchClient;
  #dynamo?: DynamoDBDocumentClient;
  #sts?: STSClient;
  #sfn?: SFNClient;
  #scheduler?: SchedulerClient;
  #lambda?: LambdaClient;
  #events?: EventBridgeClient;

  constructor(target: AwsTarget) {
    this.target = target;
  }

  get sqs(): SQSClient {
    // Emulator queue URLs name a host (localhost:4566) that may not be the endpoint in use.
    this.#sqs ??= new SQSClient({
      ...clientConfig(this.target),
      useQueueUrlAsEndpoint: this.target.endpoint === undefined,
    });
    return this.#sqs;
  }

  get cloudformation(): CloudFormationClient {
    this.#cloudformation ??= new CloudFormationClient(clientConfig(this.target));
    return this.#cloudformation;
  }

  get cloudwatch(): CloudWatchClient {
    this.#cloudwatch ??= new CloudWatchClient(clientConfig(this.target));
    return this.#cloudwatch;
  }

  get dynamo(): DynamoDBDocumentClient {
    this.#dynamo ??= DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(this.target)), {
      marshallOptions: { removeUndefinedValues: true },
    });
    return this.#dynamo;
  }

  get sts(): STSClient {
    this.#sts ??= new STSClient(clientConfig(this.target));
    return this.#sts;
  }

  get sfn(): SFNClient {
    this.#sfn ??= new SFNClient(clientConfig(this.target));
    return this.#sfn;
  }

  get scheduler(): SchedulerClient {
    this.#scheduler ??= new SchedulerClient(clientConfig(this.target));
    return this.#scheduler;
  }

  get lambda(): LambdaClient {
    this.#lambda ??= new LambdaClient(clientConfig(this.target));
    return this.#lambda;
  }

  get events(): EventBridgeClient {
    this.#events ??= new EventBridgeClient(clientConfig(this.target));
    return this.#events;
  }
}
