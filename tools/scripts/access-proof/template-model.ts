/**
 * A synthesized CloudFormation template read the way AWS would deploy it: intrinsics resolved to
 * the names and ARNs the resources get, so policies can be evaluated against concrete requests.
 * Names CloudFormation would generate are stood in for by the logical id (stable, and unique in
 * the stack, which is all an evaluation needs).
 */
import { createHash } from "node:crypto";

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** What a data path can touch: the types a grant, a target or a mapping points at. */
export const DATA_TYPES = [
  "AWS::SQS::Queue",
  "AWS::DynamoDB::Table",
  "AWS::SNS::Topic",
  "AWS::Events::EventBus",
  "AWS::Lambda::Function",
  "AWS::StepFunctions::StateMachine",
] as const;

const NAME_PROPERTY: Record<string, string> = {
  "AWS::SQS::Queue": "QueueName",
  "AWS::DynamoDB::Table": "TableName",
  "AWS::Lambda::Function": "FunctionName",
  "AWS::IAM::Role": "RoleName",
  "AWS::StepFunctions::StateMachine": "StateMachineName",
  "AWS::SNS::Topic": "TopicName",
  "AWS::Events::EventBus": "Name",
  "AWS::Events::Rule": "Name",
  "AWS::Scheduler::ScheduleGroup": "Name",
  "AWS::Scheduler::Schedule": "Name",
  "AWS::Logs::LogGroup": "LogGroupName",
  "AWS::CloudWatch::Alarm": "AlarmName",
  "AWS::S3::Bucket": "BucketName",
};

/** Any value that names the stream of a table (the label is fixed: only the ARN's shape matters). */
const STREAM_LABEL = "2026-01-01T00:00:00.000";

export class TemplateModel {
  readonly partition = "aws";
  readonly #byArn = new Map<string, string>();

  constructor(
    readonly template: CfnTemplate,
    readonly account: string,
    readonly region: string,
  ) {
    for (const id of Object.keys(template.Resources)) {
      this.#byArn.set(this.arnOf(id), id);
      this.#byArn.set(this.refOf(id), id);
      if (this.typeOf(id) === "AWS::DynamoDB::Table") this.#byArn.set(this.streamArnOf(id), id);
    }
  }

  /** Logical ids of every resource of these types. */
  ids(...types: string[]): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, r]) => types.includes(r.Type))
      .map(([id]) => id);
  }

  typeOf(id: string): string {
    return this.resource(id).Type;
  }

  props(id: string): Record<string, unknown> {
    return this.resource(id).Properties ?? {};
  }

  resource(id: string): CfnResource {
    const found = this.template.Resources[id];
    if (!found) throw new Error(`the template has no resource ${id}`);
    return found;
  }

  /** The resource an ARN, a queue URL or a name resolves to, if it is one of the template's. */
  idOf(value: unknown): string | undefined {
    return typeof value === "string" ? this.#byArn.get(value) : undefined;
  }

  /** A readable name: the logical id without CDK's hash suffix. */
  label(id: string): string {
    return id.replace(/[0-9A-F]{8}$/, "");
  }

  nameOf(id: string): string {
    const property = NAME_PROPERTY[this.typeOf(id)];
    const given = property ? this.props(id)[property] : undefined;
    if (given !== undefined) return String(this.resolve(given));
    if (this.typeOf(id) === "AWS::SQS::Queue" && this.props(id).FifoQueue) return `${id}.fifo`;
    return id;
  }

  refOf(id: string): string {
    const type = this.typeOf(id);
    if (type === "AWS::SQS::Queue") {
      return `https://sqs.${this.region}.amazonaws.com/${this.account}/${this.nameOf(id)}`;
    }
    if (type === "AWS::StepFunctions::StateMachine" || type === "AWS::SNS::Topic") {
      return this.arnOf(id);
    }
    if (type === "AWS::KMS::Key") return this.#keyId(id);
    return this.nameOf(id);
  }

  arnOf(id: string): string {
    const name = this.nameOf(id);
    const at = (service: string, resource: string) =>
      `arn:${this.partition}:${service}:${this.region}:${this.account}:${resource}`;
    switch (this.typeOf(id)) {
      case "AWS::SQS::Queue":
        return at("sqs", name);
      case "AWS::DynamoDB::Table":
        return at("dynamodb", `table/${name}`);
      case "AWS::Lambda::Function":
        return at("lambda", `function:${name}`);
      case "AWS::IAM::Role":
        return `arn:${this.partition}:iam::${this.account}:role/${name}`;
      case "AWS::StepFunctions::StateMachine":
        return at("states", `stateMachine:${name}`);
      case "AWS::SNS::Topic":
        return at("sns", name);
      case "AWS::Events::EventBus":
        return at("events", `event-bus/${name}`);
      case "AWS::Events::Rule": {
        const bus = this.props(id).EventBusName;
        const busName = bus === undefined ? "default" : String(this.resolve(bus));
        return at("events", busName === "default" ? `rule/${name}` : `rule/${busName}/${name}`);
      }
      case "AWS::KMS::Key":
        return at("kms", `key/${this.#keyId(id)}`);
      case "AWS::Scheduler::ScheduleGroup":
        return at("scheduler", `schedule-group/${name}`);
      case "AWS::Scheduler::Schedule":
        return at("scheduler", `schedule/${this.props(id).GroupName ?? "default"}/${name}`);
      case "AWS::Logs::LogGroup":
        return at("logs", `log-group:${name}:*`);
      case "AWS::CloudWatch::Alarm":
        return at("cloudwatch", `alarm:${name}`);
      case "AWS::S3::Bucket":
        return `arn:${this.partition}:s3:::${name}`;
      default:
        return at("unknown", id);
    }
  }

  streamArnOf(id: string): string {
    return `${this.arnOf(id)}/stream/${STREAM_LABEL}`;
  }

  /** Resolves CloudFormation intrinsics (Ref, GetAtt, Join, Select, Split, Sub) throughout a value. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== "object") return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined && key in this.#intrinsics) {
      return this.#intrinsics[key]?.(arg);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  /** Logical ids a value refers to (through Ref or GetAtt), however deep. */
  references(value: unknown): string[] {
    if (Array.isArray(value)) return value.flatMap((v) => this.references(v));
    if (value === null || typeof value !== "object") return [];
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === "string" && record.Ref in this.template.Resources)
      return [record.Ref];
    const att = record["Fn::GetAtt"];
    if (Array.isArray(att) && typeof att[0] === "string") return [att[0]];
    return Object.values(record).flatMap((v) => this.references(v));
  }

  readonly #intrinsics: Record<string, (arg: unknown) => unknown> = {
    Ref: (arg) => {
      const name = String(arg);
      const pseudo: Record<string, string> = {
        "AWS::Partition": this.partition,
        "AWS::Region": this.region,
        "AWS::AccountId": this.account,
        "AWS::URLSuffix": "amazonaws.com",
      };
      return pseudo[name] ?? this.refOf(name);
    },
    "Fn::GetAtt": (arg) => {
      const [id, attribute] = arg as [string, string];
      if (attribute === "StreamArn") return this.streamArnOf(id);
      if (attribute === "Arn") return this.arnOf(id);
      if (attribute === "QueueName" || attribute === "Name") return this.nameOf(id);
      if (attribute === "QueueUrl") return this.refOf(id);
      return `${this.arnOf(id)}#${attribute}`;
    },
    "Fn::Join": (arg) => {
      const [separator, parts] = arg as [string, unknown[]];
      return (this.resolve(parts) as unknown[]).map(String).join(separator);
    },
    "Fn::Select": (arg) => {
      const [index, list] = arg as [number, unknown];
      return (this.resolve(list) as unknown[])[Number(index)];
    },
    "Fn::Split": (arg) => {
      const [separator, text] = arg as [string, unknown];
      return String(this.resolve(text)).split(separator);
    },
    "Fn::Sub": (arg) => {
      const text = Array.isArray(arg) ? String(arg[0]) : String(arg);
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const [id, attribute] = name.split(".");
        return String(
          this.resolve(attribute ? { "Fn::GetAtt": [id, attribute] } : { Ref: id ?? name }),
        );
      });
    },
  };

  #keyId(id: string): string {
    const hex = createHash("sha256").update(id).digest("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }
}
