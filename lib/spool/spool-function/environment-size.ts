import { CfnResource, Stack, Token } from "aws-cdk-lib";
import type { CfnFunction, Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { invalid } from "../runtime/validation.js";

/** Lambda refuses a function whose variables (keys and values) total more than 4 KB. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4_096;

/**
 * Upper bounds, in bytes, for what CloudFormation substitutes for a reference, so that a total
 * under the limit here is under it on any account. A resource's name CloudFormation generates
 * as `<stack>-<logical id>-<13 characters>`; an ARN adds at most the prefix
 * `arn:aws-us-gov:<service>:<region>:<account>:<type>/` (at most 80 characters with the
 * longest service, region and resource type names Spool uses).
 */
const GENERATED_NAME_SUFFIX = 1 + 13;
const ARN_PREFIX_MAX = 80;
/** Anything else (Fn::Select, Fn::ImportValue, a custom resource's attribute): a full 256. */
const UNKNOWN_REFERENCE_BYTES = 256;
const PSEUDO_PARAMETER_BYTES: Record<string, number> = {
  "AWS::AccountId": 12,
  "AWS::Region": 14, // ap-southeast-3, the longest region name
  "AWS::Partition": 10, // aws-us-gov
  "AWS::URLSuffix": 16, // amazonaws.com.cn
  "AWS::NoValue": 0,
};

/**
 * The most bytes `value` (a resolved template value: a string, or an intrinsic over references)
 * can take once deployed in `stack`.
 */
export function estimateValueBytes(value: unknown, stack: Stack): number {
  return new Estimate(stack).value(value);
}

/** Keys plus the estimated values: what Lambda compares with its 4 KB. */
export function estimateEnvironmentBytes(variables: Record<string, unknown>, stack: Stack): number {
  const estimate = new Estimate(stack);
  return Object.entries(variables).reduce((sum, [key, v]) => sum + estimate.variable(key, v), 0);
}

/**
 * Throws when `fn`'s environment could exceed Lambda's limit, naming the function's path, the
 * estimated size and its largest variables (a recurring-job worker's `SPOOL_RECURRING_JOBS`
 * grows by about 450 bytes per job it serves).
 */
export function requireEnvironmentWithinLimit(fn: LambdaFunction): void {
  const stack = Stack.of(fn);
  const cfn = fn.node.defaultChild as CfnFunction;
  const resolved = stack.resolve(cfn.environment) as
    | { variables?: Record<string, unknown>; Variables?: Record<string, unknown> }
    | undefined;
  const estimate = new Estimate(stack);
  const sizes = Object.entries(resolved?.variables ?? resolved?.Variables ?? {})
    .map(([key, value]) => ({ key, bytes: estimate.variable(key, value) }))
    .sort((a, b) => b.bytes - a.bytes);
  const total = sizes.reduce((sum, v) => sum + v.bytes, 0);
  if (total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  const largest = sizes
    .slice(0, 3)
    .map((v) => `${v.key} ${v.bytes} B`)
    .join(", ");
  invalid(
    fn,
    `environment must total at most ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes (keys and values, references counted at their longest), got about ${total} bytes; largest: ${largest}`,
  );
}

/** Types whose `Ref` is an ARN or a URL rather than a name. */
const REF_IS_ARN_OR_URL = new Set([
  "AWS::SNS::Topic",
  "AWS::SQS::Queue",
  "AWS::StepFunctions::StateMachine",
  "AWS::KMS::Key",
]);
/** The L1 properties that fix a resource's name when the template spells it out. */
const NAME_PROPERTIES = [
  "queueName",
  "tableName",
  "functionName",
  "stateMachineName",
  "topicName",
  "roleName",
  "name",
];

/** One estimate over one stack: its resources are indexed once, when a reference needs them. */
class Estimate {
  #resources: Map<string, CfnResource> | undefined;

  constructor(private readonly stack: Stack) {}

  variable(key: string, value: unknown): number {
    return Buffer.byteLength(key, "utf8") + this.value(value);
  }

  value(value: unknown): number {
    if (typeof value === "string") return Buffer.byteLength(value, "utf8");
    if (typeof value === "number" || typeof value === "boolean") return String(value).length;
    if (value === null || typeof value !== "object") return UNKNOWN_REFERENCE_BYTES;
    const v = value as Record<string, unknown>;
    if ("Fn::Join" in v) {
      const [separator, parts] = v["Fn::Join"] as [string, unknown[]];
      const joined = parts.reduce<number>((sum, p) => sum + this.value(p), 0);
      return joined + Buffer.byteLength(separator, "utf8") * Math.max(0, parts.length - 1);
    }
    if ("Ref" in v && typeof v.Ref === "string") {
      if (v.Ref === "AWS::StackName") return this.stackNameBytes();
      const pseudo = PSEUDO_PARAMETER_BYTES[v.Ref];
      if (pseudo !== undefined) return pseudo;
      const resource = this.resource(v.Ref);
      if (!resource) return UNKNOWN_REFERENCE_BYTES;
      const name = this.nameBytes(resource);
      return REF_IS_ARN_OR_URL.has(resource.cfnResourceType) ? ARN_PREFIX_MAX + name : name;
    }
    if ("Fn::GetAtt" in v && Array.isArray(v["Fn::GetAtt"])) {
      const resource = this.resource(String(v["Fn::GetAtt"][0]));
      return resource ? ARN_PREFIX_MAX + this.nameBytes(resource) : UNKNOWN_REFERENCE_BYTES;
    }
    return UNKNOWN_REFERENCE_BYTES;
  }

  private stackNameBytes(): number {
    // A nested stack's name is a token: count CloudFormation's longest.
    return Token.isUnresolved(this.stack.stackName) ? 128 : this.stack.stackName.length;
  }

  /** The name the template fixes, or the longest CloudFormation generates for it. */
  private nameBytes(resource: CfnResource): number {
    const logicalId = this.stack.resolve(resource.logicalId) as string;
    const generated = this.stackNameBytes() + 1 + logicalId.length + GENERATED_NAME_SUFFIX;
    const record = resource as unknown as Record<string, unknown>;
    for (const property of NAME_PROPERTIES) {
      const fixed = this.stack.resolve(record[property]);
      if (fixed !== undefined) return Math.max(generated, this.value(fixed));
    }
    return generated;
  }

  /** The stack's resource of that logical id; indexed at the check, after every construct ran. */
  private resource(logicalId: string): CfnResource | undefined {
    if (!this.#resources) {
      this.#resources = new Map();
      for (const c of this.stack.node.findAll()) {
        if (CfnResource.isCfnResource(c) && Stack.of(c) === this.stack) {
          this.#resources.set(this.stack.resolve(c.logicalId) as string, c);
        }
      }
    }
    return this.#resources.get(logicalId);
  }
}
