/**
 * The paths that must stay refused, derived from the template and from the allowed paths (what
 * each principal legitimately touches): another consumer's idempotency records, plain HTTP,
 * another account, the Scheduler's role or a rule reaching past its targets, any role reaching a
 * resource it is not wired to. A grant too many, or a wildcard, turns one of these allowed.
 */
import {
  type AccessPath,
  environmentOf,
  type IamRequest,
  isRedrive,
  OTHER_ACCOUNT,
  onBehalfOf,
  roleOf,
  tls,
} from "./access-path.js";
import { keyPrefixOf } from "./grant-paths.js";
import { DATA_TYPES, type TemplateModel } from "./template-model.js";

/** A principal of this account whose identity policy allows everything (see evaluate.ts). */
export const administratorOf = (model: TemplateModel) =>
  `arn:${model.partition}:iam::${model.account}:role/SpoolAccessProofAdministrator`;
/** A principal of another account whose identity policy allows everything. */
export const outsiderOf = (model: TemplateModel) =>
  `arn:${model.partition}:iam::${OTHER_ACCOUNT}:role/SpoolAccessProofOutsider`;

/** The requests that use each resource type, when a refusal tries them all. */
const PROBES: Record<string, string[]> = {
  "AWS::SQS::Queue": ["sqs:SendMessage", "sqs:ReceiveMessage"],
  "AWS::DynamoDB::Table": ["dynamodb:GetItem", "dynamodb:PutItem"],
  "AWS::SNS::Topic": ["sns:Publish"],
  "AWS::Events::EventBus": ["events:PutEvents"],
  "AWS::Lambda::Function": ["lambda:InvokeFunction"],
  "AWS::StepFunctions::StateMachine": ["states:StartExecution"],
  "AWS::KMS::Key": ["kms:Decrypt"],
};

const denied = (
  kind: string,
  from: string,
  to: string,
  requests: AccessPath["requests"],
): AccessPath => ({
  kind,
  from,
  to,
  expect: "denied",
  requests,
});

function probes(model: TemplateModel, principal: string, ids: string[], context = tls()) {
  return ids.flatMap((id) =>
    (PROBES[model.typeOf(id)] ?? []).map((action) => ({
      principal,
      action,
      resource: model.arnOf(id),
      context: action.startsWith("dynamodb:")
        ? { ...context, "dynamodb:LeadingKeys": ["probe#1"] }
        : context,
    })),
  );
}

export function refusals(model: TemplateModel, allowed: readonly AccessPath[]): AccessPath[] {
  const iam = allowed.flatMap((p) => p.requests.filter((r) => !isRedrive(r))) as IamRequest[];
  const touchedBy = (principal: string) =>
    new Set(iam.filter((r) => r.principal === principal).map((r) => model.idOf(r.resource)));
  const dataIds = model.ids(...DATA_TYPES);
  return [
    ...idempotencyRecords(model),
    ...(["AWS::SQS::Queue", "AWS::SNS::Topic"] as const).map((type) => {
      const ids = model.ids(type);
      const legitimate = iam.filter((r) => ids.includes(model.idOf(r.resource) ?? ""));
      const plain = { "aws:SecureTransport": "false" };
      return denied(
        "plain HTTP",
        "every principal that may use it, and an administrator",
        `each of ${ids.length} ${type === "AWS::SQS::Queue" ? "queue(s)" : "topic(s)"}`,
        [
          ...legitimate.map((r) => ({ ...r, context: { ...r.context, ...plain } })),
          ...probes(model, administratorOf(model), ids, plain),
        ],
      );
    }),
    denied(
      "another account",
      `a principal of account ${OTHER_ACCOUNT} allowed everything by its own policy`,
      "every queue, table, topic, bus, function, state machine and key",
      probes(model, outsiderOf(model), [...dataIds, ...model.ids("AWS::KMS::Key")]),
    ),
    denied(
      "another account",
      `a service acting for account ${OTHER_ACCOUNT}`,
      "every target a service delivers to for this account",
      iam
        .filter((r) => r.context["aws:SourceArn"] !== undefined)
        .map((r) => ({
          ...r,
          context: {
            ...r.context,
            "aws:SourceAccount": OTHER_ACCOUNT,
            "aws:SourceArn": String(r.context["aws:SourceArn"]).replace(
              model.account,
              OTHER_ACCOUNT,
            ),
          },
        })),
    ),
    ...model.ids("AWS::IAM::Role").flatMap((role) => {
      const trust = JSON.stringify(model.props(role).AssumeRolePolicyDocument ?? {});
      if (!trust.includes("scheduler.amazonaws.com")) return [];
      const principal = model.arnOf(role);
      const targets = touchedBy(principal);
      const others = dataIds.filter((id) => !targets.has(id) && id !== undefined);
      return [
        denied(
          "Scheduler beyond its targets",
          `Scheduler role ${model.label(role)}`,
          `${others.length} resources it does not target`,
          probes(model, principal, others),
        ),
      ];
    }),
    ...redrivesNotAdmitted(model),
    ...model.ids("AWS::Events::Rule").map((rule) => {
      const context = onBehalfOf(model, model.arnOf(rule));
      const targets = new Set(
        iam
          .filter((r) => r.context["aws:SourceArn"] === context["aws:SourceArn"])
          .map((r) => model.idOf(r.resource)),
      );
      const others = model
        .ids("AWS::SQS::Queue", "AWS::Lambda::Function")
        .filter((id) => !targets.has(id));
      return denied(
        "rule beyond its targets",
        `rule ${model.label(rule)}`,
        `${others.length} queues and functions it does not target`,
        others.map((id) => ({
          principal: "events.amazonaws.com",
          action:
            model.typeOf(id) === "AWS::SQS::Queue" ? "sqs:SendMessage" : "lambda:InvokeFunction",
          resource: model.arnOf(id),
          context,
        })),
      );
    }),
    ...model.ids("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine").flatMap((owner) => {
      const role = roleOf(model, owner);
      if (!role) return [];
      const principal = model.arnOf(role);
      const touched = touchedBy(principal);
      const others = dataIds.filter((id) => !touched.has(id) && id !== owner);
      return [
        denied(
          "beyond its wiring",
          `${model.label(owner)} (role ${model.label(role)})`,
          `${others.length} resources it is not wired to`,
          probes(model, principal, others),
        ),
      ];
    }),
  ];
}

/** Each user of a shared idempotency table reading the records of every other user. */
function idempotencyRecords(model: TemplateModel): AccessPath[] {
  const users = model.ids("AWS::Lambda::Function").flatMap((fn) => {
    const env = environmentOf(model, fn);
    const variable = Object.keys(env).find((name) => name.endsWith("IDEMPOTENCY_TABLE"));
    const table = variable && model.idOf(env[variable]);
    const role = roleOf(model, fn);
    return table && role ? [{ fn, table, role, prefix: keyPrefixOf(model, fn) }] : [];
  });
  return users.flatMap((user) => {
    const others = users.filter((u) => u.table === user.table && u.prefix !== user.prefix);
    if (others.length === 0) return [];
    return [
      denied(
        "another consumer's idempotency records",
        model.label(user.fn),
        `${model.label(user.table)} records of ${others.map((o) => o.prefix).join(", ")}`,
        others.flatMap((other) =>
          ["dynamodb:GetItem", "dynamodb:PutItem"].map((action) => ({
            principal: model.arnOf(user.role),
            action,
            resource: model.arnOf(user.table),
            context: tls({ "dynamodb:LeadingKeys": [`${other.prefix}#probe`] }),
          })),
        ),
      ),
    ];
  });
}

/** Every other queue of the same kind redriving into a dead-letter queue that admits only its own. */
function redrivesNotAdmitted(model: TemplateModel): AccessPath[] {
  const queues = model.ids("AWS::SQS::Queue");
  return queues.flatMap((dlq) => {
    const policy = model.props(dlq).RedriveAllowPolicy as
      | { redrivePermission?: string }
      | undefined;
    if (policy?.redrivePermission !== "byQueue") return [];
    const fifo = Boolean(model.props(dlq).FifoQueue);
    const sources = new Set(
      queues.filter((q) => {
        const redrive = model.props(q).RedrivePolicy as
          | { deadLetterTargetArn?: unknown }
          | undefined;
        return model.references(redrive?.deadLetterTargetArn).includes(dlq);
      }),
    );
    const others = queues.filter(
      (q) => q !== dlq && !sources.has(q) && Boolean(model.props(q).FifoQueue) === fifo,
    );
    return [
      denied(
        "redrive from a queue not admitted",
        `${others.length} other queue(s)`,
        model.label(dlq),
        others.map((q) => ({ redriveFrom: q, deadLetterQueue: dlq })),
      ),
    ];
  });
}
