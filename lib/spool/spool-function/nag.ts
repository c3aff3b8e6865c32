import { Aspects, type IAspect, Stack, Validations } from "aws-cdk-lib";
import { CfnPolicy } from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";

/**
 * Acknowledgments of cdk-nag findings that are design decisions, recorded where the decision is
 * made so a team copying a construct gets a clean report. Each carries its reason.
 */

/**
 * Actions AWS offers no resource-level permission for: they can only be granted on "*".
 * (X-Ray writes, DynamoDB ListStreams, CloudWatch metric data, CloudWatch Logs delivery setup for
 * Step Functions.) The security gate in test/lib/example/security allows "*" for these and no others.
 */
export const ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS: readonly string[] = [
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
  "xray:GetSamplingRules",
  "xray:GetSamplingTargets",
  "dynamodb:ListStreams",
  "cloudwatch:PutMetricData",
  "cloudwatch:GetMetricData",
  "logs:CreateLogDelivery",
  "logs:GetLogDelivery",
  "logs:UpdateLogDelivery",
  "logs:DeleteLogDelivery",
  "logs:ListLogDeliveries",
  "logs:PutResourcePolicy",
  "logs:DescribeResourcePolicies",
  "logs:DescribeLogGroups",
];

/** A wildcard resource that is acceptable, and why. */
export interface WildcardRule {
  /** True when this statement's wildcard resource is the intended one. */
  readonly matches: (resource: string, actions: readonly string[]) => boolean;
  readonly reason: string;
}

/**
 * cdk-nag's way of printing a resource in an IAM5 finding id (`Resource::<this>`): intrinsics
 * flattened to `<Logical.Attr>` / `<Ref>`, joins joined, anything else as JSON.
 */
function flatten(node: unknown): string {
  if (node === undefined) return "";
  if (typeof node === "string") return node.replace(/\${/g, "<").replace(/}/g, ">");
  const o = node as Record<string, unknown>;
  if (o["Fn::Join"]) {
    const [delimiter, items] = o["Fn::Join"] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (o["Fn::Sub"]) return flatten(o["Fn::Sub"]);
  if (o["Fn::GetAtt"]) {
    const [resource, attribute] = o["Fn::GetAtt"] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (o["Fn::ImportValue"]) return flatten(o["Fn::ImportValue"]);
  if (o.Ref) return `<${flatten(o.Ref)}>`;
  return JSON.stringify(node);
}

const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

class AcknowledgeWildcards implements IAspect {
  constructor(private readonly rules: readonly WildcardRule[]) {}

  visit(node: IConstruct): void {
    if (!(node instanceof CfnPolicy)) return;
    // Policies grow until synthesis; an aspect sees them final.
    const document = Stack.of(node).resolve(node.policyDocument) as {
      Statement?: { Effect: string; Action: string | string[]; Resource?: unknown }[];
    };
    for (const statement of document.Statement ?? []) {
      if (statement.Effect !== "Allow") continue;
      const actions = asArray(statement.Action);
      for (const resource of asArray(statement.Resource).map(flatten)) {
        if (!resource.includes("*")) continue;
        const rule = this.rules.find((r) => r.matches(resource, actions));
        if (rule) {
          Validations.of(node).acknowledge({
            id: `AwsSolutions-IAM5[Resource::${resource}]`,
            reason: rule.reason,
          });
        }
      }
    }
  }
}

/**
 * Acknowledges, on every IAM policy under `scope`, the wildcard resources the rules accept, and
 * nothing else: any other wildcard still shows up in the cdk-nag report.
 */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  rules: readonly WildcardRule[],
): void {
  Aspects.of(scope).add(new AcknowledgeWildcards(rules));
}

/** Statements whose actions are all in `allowed`. */
export function onlyActions(allowed: readonly string[]) {
  const set = new Set(allowed);
  return (actions: readonly string[]) => actions.every((a) => set.has(a));
}

/** A queue that is itself a dead-letter queue: it has (and needs) no dead-letter queue. */
export function acknowledgeDeadLetterQueue(queue: IConstruct, collects: string): void {
  const reason = `This queue is a dead-letter queue (${collects}); a dead-letter queue of a dead-letter queue would only move the problem.`;
  Validations.of(queue).acknowledge(
    { id: "AwsSolutions-SQS3", reason },
    { id: "Serverless-SQSRedrivePolicy", reason },
  );
}

/**
 * A function that is never invoked asynchronously (callers wait for its answer, or an event
 * source mapping with its own failure path invokes it), so a Lambda DLQ would never receive.
 */
export function acknowledgeSynchronousInvocation(fn: IConstruct, invokedBy: string): void {
  Validations.of(fn).acknowledge({
    id: "Serverless-LambdaDLQ",
    reason: `Invoked synchronously by ${invokedBy}: failures go back to the caller, never to an asynchronous-invocation DLQ.`,
  });
}

/** The one wildcard every Spool role may carry: "*" for actions that allow nothing narrower. */
export const RESOURCELESS_ACTIONS_RULE: WildcardRule = {
  matches: (resource, actions) =>
    resource === "*" && onlyActions(ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS)(actions),
  reason:
    "Only actions that support no resource-level permissions (X-Ray writes, DynamoDB ListStreams, CloudWatch metric data, log delivery setup) are granted on '*'; every other grant names its resource.",
};
