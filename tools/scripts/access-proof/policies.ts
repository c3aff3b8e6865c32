/**
 * Every policy of a template that decides a request, resolved: a role's identity policies, and
 * the resource policy of a queue, topic, function (its Lambda permissions), key or table.
 */
import type { TemplateModel } from "./template-model.js";

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: Statement[];
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: unknown;
  readonly Action?: string | string[];
  readonly Resource?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export interface NamedPolicy {
  readonly name: string;
  readonly policy: PolicyDocument;
}

const list = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** The identity policies attached to a role of the template (inline and AWS::IAM::Policy). */
export function identityPolicies(model: TemplateModel, roleId: string): NamedPolicy[] {
  const inline = list(model.props(roleId).Policies).map((p) => {
    const named = p as { PolicyName: unknown; PolicyDocument: unknown };
    return {
      name: String(model.resolve(named.PolicyName)),
      policy: model.resolve(named.PolicyDocument) as PolicyDocument,
    };
  });
  const attached = model.ids("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy").flatMap((id) => {
    const props = model.props(id);
    if (!model.references(props.Roles).includes(roleId)) return [];
    return [{ name: id, policy: model.resolve(props.PolicyDocument) as PolicyDocument }];
  });
  return [...inline, ...attached];
}

/** Statements of the role's identity policies, with actions and resources as lists. */
export function identityStatements(
  model: TemplateModel,
  roleId: string,
): { actions: string[]; resources: string[]; statement: Statement }[] {
  return identityPolicies(model, roleId).flatMap(({ policy }) =>
    list(policy.Statement).map((s) => {
      const statement = s as Statement;
      return {
        statement,
        actions: list(statement.Action).map(String),
        resources: list(statement.Resource).map(String),
      };
    }),
  );
}

/**
 * The resource policy that governs requests on `resourceId`, or undefined where the resource
 * has none (then only the caller's identity policies decide, within the account).
 */
export function resourcePolicy(
  model: TemplateModel,
  resourceId: string,
): PolicyDocument | undefined {
  const type = model.typeOf(resourceId);
  const props = model.props(resourceId);
  if (type === "AWS::KMS::Key") return model.resolve(props.KeyPolicy) as PolicyDocument;
  if (type === "AWS::DynamoDB::Table") {
    const policy = (props.ResourcePolicy as { PolicyDocument?: unknown } | undefined)
      ?.PolicyDocument;
    return policy ? (model.resolve(policy) as PolicyDocument) : undefined;
  }
  if (type === "AWS::Lambda::Function") return lambdaPermissions(model, resourceId);
  const attached: Record<string, [string, string]> = {
    "AWS::SQS::Queue": ["AWS::SQS::QueuePolicy", "Queues"],
    "AWS::SNS::Topic": ["AWS::SNS::TopicPolicy", "Topics"],
    "AWS::S3::Bucket": ["AWS::S3::BucketPolicy", "Bucket"],
  };
  const [policyType, targets] = attached[type] ?? [];
  if (!policyType || !targets) return undefined;
  // Two policies on one queue would overwrite each other on AWS; both are read so neither hides.
  const statements = model.ids(policyType).flatMap((id) => {
    const p = model.props(id);
    if (!model.references(p[targets]).includes(resourceId)) return [];
    return list((model.resolve(p.PolicyDocument) as PolicyDocument).Statement) as Statement[];
  });
  return statements.length > 0 ? { Version: "2012-10-17", Statement: statements } : undefined;
}

/** A function's AWS::Lambda::Permission resources as the resource policy Lambda builds from them. */
function lambdaPermissions(model: TemplateModel, functionId: string): PolicyDocument | undefined {
  const arn = model.arnOf(functionId);
  const statements: Statement[] = model.ids("AWS::Lambda::Permission").flatMap((id) => {
    const p = model.resolve(model.props(id)) as Record<string, string | undefined>;
    if (model.idOf(p.FunctionName) !== functionId) return [];
    const principal = String(p.Principal);
    const condition: Record<string, Record<string, unknown>> = {};
    if (p.SourceArn) condition.ArnLike = { "aws:SourceArn": p.SourceArn };
    if (p.SourceAccount) condition.StringEquals = { "aws:SourceAccount": p.SourceAccount };
    return [
      {
        Sid: id,
        Effect: "Allow",
        Principal: principal.endsWith(".amazonaws.com")
          ? { Service: principal }
          : { AWS: principal === "*" ? "*" : principal },
        Action: String(p.Action),
        Resource: arn,
        ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
      },
    ];
  });
  return statements.length > 0 ? { Version: "2012-10-17", Statement: statements } : undefined;
}
