/**
 * The resolver: from the synthesized template to the deployed stack. It maps logical ids to the
 * emulator's physical ids and resolves the intrinsics a template's properties use (`Ref`,
 * `Fn::GetAtt`, `Fn::Join`, pseudo parameters), so a declared value compares with what a
 * service API returns.
 */
import { CloudFormationClient, paginateListStackResources } from "@aws-sdk/client-cloudformation";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { LOCAL_ACCOUNT } from "../lib/local-cloud.js";
import type { ClientConfig } from "./check.js";

export type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};

/** Reads `Fn::GetAtt` of a deployed resource. */
export type AttributeReader = (logicalId: string, attribute: string) => Promise<unknown>;

export class Resolver {
  constructor(
    private readonly physicalIds: ReadonlyMap<string, string>,
    private readonly attributes: AttributeReader,
    private readonly pseudo: Readonly<Record<string, string>>,
  ) {}

  physicalId(logicalId: string): string | undefined {
    return this.physicalIds.get(logicalId);
  }

  async resolve(value: unknown): Promise<unknown> {
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.resolve(v)));
    if (value === null || typeof value !== "object") return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0] as [string, unknown];
      if (key === "Ref") {
        const name = arg as string;
        if (name in this.pseudo) return this.pseudo[name];
        return this.physicalIds.get(name);
      }
      if (key === "Fn::GetAtt") {
        const [logicalId, attribute] = (Array.isArray(arg) ? arg : String(arg).split(".")) as [
          string,
          string,
        ];
        return this.attributes(logicalId, attribute);
      }
      if (key === "Fn::Join") {
        const [separator, parts] = arg as [string, unknown[]];
        return ((await this.resolve(parts)) as unknown[]).join(separator);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = await this.resolve(v);
    return out;
  }
}

/** Logical id → physical id of every resource the emulator created for the stack. */
export async function deployedResources(
  config: ClientConfig,
  stackName: string,
): Promise<Map<string, string>> {
  const cfn = new CloudFormationClient(config);
  const physicalIds = new Map<string, string>();
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stackName })) {
    for (const r of page.StackResourceSummaries ?? [])
      if (r.LogicalResourceId && r.PhysicalResourceId)
        physicalIds.set(r.LogicalResourceId, r.PhysicalResourceId);
  }
  return physicalIds;
}

export function pseudoParameters(region: string, stackName: string): Record<string, string> {
  return {
    "AWS::Region": region,
    "AWS::AccountId": LOCAL_ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": stackName,
  };
}

/**
 * The attributes the template reads with `Fn::GetAtt`: asked of the service where only it knows
 * them (a queue's or table's ARN), derived from the physical id where that is the name or ARN.
 */
export function attributeReader(
  config: ClientConfig,
  template: Template,
  physicalIds: ReadonlyMap<string, string>,
): AttributeReader {
  const sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
  const ddb = new DynamoDBClient(config);
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${config.region}:${LOCAL_ACCOUNT}:${resource}`;
  return async (logicalId, attribute) => {
    const resource = template.Resources[logicalId];
    const id = physicalIds.get(logicalId);
    if (!resource || !id) return undefined;
    if (resource.Type === "AWS::SQS::Queue") {
      if (attribute === "QueueUrl") return id;
      const attrs = (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: id, AttributeNames: ["QueueArn"] }),
        )
      ).Attributes;
      if (attribute === "Arn") return attrs?.QueueArn;
      if (attribute === "QueueName") return id.split("/").pop();
    }
    if (resource.Type === "AWS::Logs::LogGroup" && attribute === "Arn") {
      return arn("logs", `log-group:${id}:*`);
    }
    // Resources whose physical id is their name or ARN: the ARN follows from it.
    if (resource.Type === "AWS::Lambda::Function" && attribute === "Arn") {
      return arn("lambda", `function:${id}`);
    }
    if (resource.Type === "AWS::StepFunctions::StateMachine" && attribute === "Arn") return id;
    if (resource.Type === "AWS::SNS::Topic" && attribute === "TopicArn") return id;
    if (resource.Type === "AWS::Events::EventBus" && attribute === "Arn") {
      return id.startsWith("arn:") ? id : arn("events", `event-bus/${id}`);
    }
    if (resource.Type === "AWS::DynamoDB::Table") {
      const table = (await ddb.send(new DescribeTableCommand({ TableName: id }))).Table;
      if (attribute === "Arn") return table?.TableArn;
      if (attribute === "StreamArn") return table?.LatestStreamArn;
    }
    if (resource.Type === "AWS::KMS::Key" && attribute === "Arn") {
      return id.startsWith("arn:") ? id : arn("kms", `key/${id}`);
    }
    return undefined;
  };
}

/** Reads the deployed stack once and returns the resolver for its template. */
export async function resolverFor(
  config: ClientConfig,
  template: Template,
  stackName: string,
): Promise<Resolver> {
  const physicalIds = await deployedResources(config, stackName);
  return new Resolver(
    physicalIds,
    attributeReader(config, template, physicalIds),
    pseudoParameters(config.region, stackName),
  );
}
