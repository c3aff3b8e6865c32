/**
 * Lifecycle checks over a synthesized template: what survives a failed first deploy or a stack
 * deletion, and what two stacks in one account would fight over. They read the template only,
 * so they prove on any machine what otherwise shows only on a real account's second deploy.
 *
 * A "fixed" physical name is one the template spells out (a literal, or a join of literals and
 * the stack name, account or region) rather than one CloudFormation generates or derives from a
 * generated name. A resource with a fixed name that is retained on a rolled-back create stays in
 * the way: the retried deploy fails with "already exists".
 */

export interface TemplateResource {
  readonly Type: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Properties?: Record<string, unknown>;
}

export interface LifecycleTemplate {
  readonly Resources: Record<string, TemplateResource>;
}

/**
 * The property holding each type's physical name, and the property scoping it (a schedule's name
 * is unique in its group, a rule's on its bus). A type not listed here is still checked through
 * its `Name` or `<Type>Name` property (see `namePropertiesOf`).
 */
const PHYSICAL_NAMES: Record<string, { readonly name: string; readonly scope?: string }> = {
  "AWS::DynamoDB::Table": { name: "TableName" },
  "AWS::SQS::Queue": { name: "QueueName" },
  "AWS::SNS::Topic": { name: "TopicName" },
  "AWS::Scheduler::ScheduleGroup": { name: "Name" },
  "AWS::Scheduler::Schedule": { name: "Name", scope: "GroupName" },
  "AWS::Events::EventBus": { name: "Name" },
  "AWS::Events::Rule": { name: "Name", scope: "EventBusName" },
  "AWS::Lambda::Function": { name: "FunctionName" },
  "AWS::StepFunctions::StateMachine": { name: "StateMachineName" },
  "AWS::Logs::LogGroup": { name: "LogGroupName" },
  "AWS::CloudWatch::Alarm": { name: "AlarmName" },
  "AWS::CloudWatch::Dashboard": { name: "DashboardName" },
  "AWS::IAM::Role": { name: "RoleName" },
  "AWS::IAM::ManagedPolicy": { name: "ManagedPolicyName" },
  "AWS::KMS::Alias": { name: "AliasName" },
  "AWS::S3::Bucket": { name: "BucketName" },
};

/**
 * `…Name` properties that are not an account-wide physical name: labels, references to other
 * resources' names, or names scoped to their parent resource (an inline policy's name is unique
 * per role only).
 */
const NOT_PHYSICAL_NAMES = new Set([
  "DisplayName",
  "PolicyName",
  "MetricName",
  "AttributeName",
  "IndexName",
  "GroupName",
  "EventBusName",
  "FunctionName",
  "StateMachineName",
]);

/** Why a retained resource with a fixed name is acceptable; its README must say so. */
export interface RetainAllowance {
  readonly type: string;
  /** Matches the resource's fixed name (`<scope>/<name>` for scoped names). */
  readonly name: RegExp;
  /** The README that explains why it is retained. */
  readonly readme: string;
  /** A sentence of that README giving the reason; the test checks it is there. */
  readonly reason: string;
}

export interface FixedName {
  readonly logicalId: string;
  readonly type: string;
  /** The name as deployed (`<scope>/<name>` when scoped), pseudo parameters filled in. */
  readonly name: string;
  readonly deletionPolicy: string;
}

export interface PseudoValues {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
}

/**
 * The resolved string of a template value made of literals and pseudo parameters, or undefined
 * when any part comes from another resource (a generated name, not a fixed one).
 */
export function fixedString(value: unknown, pseudo: PseudoValues): string | undefined {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  if ("Ref" in v) {
    const ref = v.Ref;
    if (ref === "AWS::StackName") return pseudo.stackName;
    if (ref === "AWS::AccountId") return pseudo.account;
    if (ref === "AWS::Region") return pseudo.region;
    if (ref === "AWS::Partition") return "aws";
    if (ref === "AWS::URLSuffix") return "amazonaws.com";
    return undefined;
  }
  if ("Fn::Join" in v) {
    const [separator, parts] = v["Fn::Join"] as [string, unknown[]];
    const resolved = parts.map((p) => fixedString(p, pseudo));
    return resolved.every((p) => p !== undefined) ? resolved.join(separator) : undefined;
  }
  return undefined;
}

/** The properties holding `resource`'s physical name and its scope. */
function namePropertiesOf(type: string): { name: string; scope?: string }[] {
  const known = PHYSICAL_NAMES[type];
  if (known) return [known];
  const shortType = type.split("::").at(-1) ?? "";
  return [{ name: "Name" }, { name: `${shortType}Name` }].filter(
    (p) => !NOT_PHYSICAL_NAMES.has(p.name),
  );
}

/**
 * Every resource whose physical name the template fixes, with the name as it would be deployed.
 * `DeletionPolicy` absent means Delete (CloudFormation's default for these types).
 */
export function fixedNames(template: LifecycleTemplate, pseudo: PseudoValues): FixedName[] {
  const found: FixedName[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    for (const { name: nameProperty, scope } of namePropertiesOf(resource.Type)) {
      const name = fixedString(props[nameProperty], pseudo);
      if (name === undefined) continue;
      // A name scoped to a generated parent (a rule on a bus CloudFormation named) is as unique
      // as its parent; a scope left out means the type's default (`default` group or bus).
      const scopeValue = scope && props[scope] !== undefined ? props[scope] : "default";
      const scopeName = scope ? fixedString(scopeValue, pseudo) : undefined;
      if (scope && scopeName === undefined) continue;
      found.push({
        logicalId,
        type: resource.Type,
        name: scopeName === undefined ? name : `${scopeName}/${name}`,
        deletionPolicy: resource.DeletionPolicy ?? "Delete",
      });
    }
  }
  return found;
}

/**
 * Fixed-name resources that a rolled-back create would leave behind (DeletionPolicy Retain),
 * unless allowed with a reason. RetainExceptOnCreate and Delete are fine: a failed create
 * deletes them.
 */
export function retainedFixedNames(
  template: LifecycleTemplate,
  pseudo: PseudoValues,
  allowances: readonly RetainAllowance[] = [],
): FixedName[] {
  return fixedNames(template, pseudo).filter(
    (r) =>
      r.deletionPolicy === "Retain" &&
      !allowances.some((a) => a.type === r.type && a.name.test(r.name)),
  );
}

/** Fixed names two stacks would both create in one account and region. */
export function sharedFixedNames(
  a: LifecycleTemplate,
  aPseudo: PseudoValues,
  b: LifecycleTemplate,
  bPseudo: PseudoValues,
): string[] {
  const key = (r: FixedName) => `${r.type} ${r.name}`;
  const inB = new Set(fixedNames(b, bPseudo).map(key));
  return fixedNames(a, aPseudo)
    .map(key)
    .filter((k) => inB.has(k));
}

/**
 * Tables whose deletion policy is not RetainExceptOnCreate (kept on stack deletion and on
 * replacement, deleted when a first deploy rolls back), with the policy they have.
 */
export function tablesNotRetainedExceptOnCreate(
  template: LifecycleTemplate,
): { logicalId: string; deletionPolicy: string; updateReplacePolicy: string }[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === "AWS::DynamoDB::Table")
    .map(([logicalId, r]) => ({
      logicalId,
      deletionPolicy: r.DeletionPolicy ?? "Delete",
      updateReplacePolicy: r.UpdateReplacePolicy ?? "Delete",
    }))
    .filter(
      (t) => t.deletionPolicy !== "RetainExceptOnCreate" || t.updateReplacePolicy !== "Retain",
    );
}

/**
 * The reference stack's retained fixed-name resources and why. Empty today: every fixed-name
 * resource is deleted with the stack or on a failed create. An entry needs its README to say why.
 */
export const RETAIN_ALLOWANCES: readonly RetainAllowance[] = [];
