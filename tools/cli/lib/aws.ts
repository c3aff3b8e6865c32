import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { isLoopbackEndpoint } from "../../../lib/spool/runtime/faults.js";

/** Where the CLI talks to: an emulator endpoint, or AWS through the normal credential chain. */
export interface AwsTarget {
  /** Set when AWS_ENDPOINT_URL is (an emulator, usually). */
  readonly endpoint: string | undefined;
  /** Undefined lets the SDK take it from the profile configuration. */
  readonly region: string | undefined;
  /** A loopback endpoint: an emulator on this machine, which accepts any credentials. */
  readonly local: boolean;
}

const EMULATOR_REGION = "us-east-1";

export function resolveTarget(
  options: { region?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): AwsTarget {
  const endpoint = env.AWS_ENDPOINT_URL?.replace(/\/$/, "") || undefined;
  const local = isLoopbackEndpoint(endpoint);
  const region =
    options.region ??
    env.AWS_REGION ??
    env.AWS_DEFAULT_REGION ??
    (endpoint ? EMULATOR_REGION : undefined);
  return { endpoint, region, local };
}

export function clientConfig(target: AwsTarget) {
  return {
    ...(target.region ? { region: target.region } : {}),
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    // An emulator takes any credentials; a developer's real ones never need to reach it.
    ...(target.local ? { credentials: { accessKeyId: "test", secretAccessKey: "test" } } : {}),
  };
}

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
}
