/**
 * What a function is handed (a table, queue, topic, bus, state machine, role or schedule group,
 * by environment variable or in the input of a rule that invokes it) and what its role holds
 * toward each: every action granted on it must be allowed once resource policies and conditions
 * apply; a resource handed over with no grant at all is a path that fails.
 */
import { TASKS_ENV } from "../../../lib/spool/delayed-tasks/contract.js";
import {
  type AccessPath,
  environmentOf,
  type IamRequest,
  keyOf,
  roleOf,
  tls,
} from "./access-path.js";
import { identityStatements } from "./policies.js";
import type { TemplateModel } from "./template-model.js";

/** What a function needs at least from a resource it is handed (when its role has no grant). */
const AT_LEAST: Record<string, string> = {
  "AWS::SQS::Queue": "sqs:SendMessage",
  "AWS::DynamoDB::Table": "dynamodb:GetItem",
  "AWS::SNS::Topic": "sns:Publish",
  "AWS::Events::EventBus": "events:PutEvents",
  "AWS::StepFunctions::StateMachine": "states:StartExecution",
  "AWS::Lambda::Function": "lambda:InvokeFunction",
  "AWS::IAM::Role": "iam:PassRole",
  "AWS::Scheduler::ScheduleGroup": "scheduler:CreateSchedule",
  // A PayloadStore's bucket (SPOOL_PAYLOAD_BUCKET): consumers read its objects.
  "AWS::S3::Bucket": "s3:GetObject",
};

/** DynamoDB actions on items, which carry the item's partition key as dynamodb:LeadingKeys. */
const ITEM_ACTIONS = new Set(
  [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "ConditionCheckItem",
    "Query",
    "BatchGetItem",
    "BatchWriteItem",
  ].map((a) => `dynamodb:${a}`),
);

/**
 * Variables a function only passes on to another service, which then uses the resource with its
 * own principal (a one-time schedule's dead-letter queue: the Scheduler's role sends there, and
 * data-paths.ts proves that path).
 */
const HANDED_ON = new Set<string>([TASKS_ENV.deadLetterQueueArn]);

/**
 * The partition-key prefix a function's records carry in a shared table: Powertools idempotency
 * prefixes keys with the consumer's name (its service name where it has no consumer name).
 */
export function keyPrefixOf(model: TemplateModel, fn: string): string {
  const env = environmentOf(model, fn);
  return String(env.SPOOL_CONSUMER_NAME ?? env.POWERTOOLS_SERVICE_NAME ?? model.label(fn));
}

/** Each resource a function is handed, with the variables (or rule input) that hand it over. */
export function wiringOf(model: TemplateModel, fn: string): Map<string, string[]> {
  const wired = new Map<string, string[]>();
  const add = (id: string | undefined, via: string) => {
    if (!id || !(model.typeOf(id) in AT_LEAST)) return;
    wired.set(id, [...(wired.get(id) ?? []), via]);
  };
  const raw = (model.props(fn).Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  const resolved = environmentOf(model, fn);
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (HANDED_ON.has(name)) continue;
    const ids = new Set([...model.references(value), model.idOf(resolved[name])]);
    for (const id of ids) add(id, name);
  }
  for (const rule of model.ids("AWS::Events::Rule")) {
    for (const target of (model.props(rule).Targets ?? []) as Record<string, unknown>[]) {
      if (model.references(target.Arn)[0] !== fn) continue;
      for (const id of new Set(model.references(target.Input))) {
        add(id, `input of rule ${model.label(rule)}`);
      }
    }
  }
  return wired;
}

/** The resource ARNs a grant on `id` may name: the resource itself and what lives under it. */
function covers(model: TemplateModel, id: string, resource: string): boolean {
  const arn = model.arnOf(id);
  if (resource === arn) return true;
  const name = model.nameOf(id);
  const under: Record<string, string> = {
    "AWS::DynamoDB::Table": `${arn}/`,
    "AWS::S3::Bucket": `${arn}/`,
    "AWS::Lambda::Function": `${arn}:`,
    "AWS::StepFunctions::StateMachine": `arn:${model.partition}:states:${model.region}:${model.account}:execution:${name}:`,
    "AWS::Scheduler::ScheduleGroup": `arn:${model.partition}:scheduler:${model.region}:${model.account}:schedule/${name}/`,
  };
  const prefix = under[model.typeOf(id)];
  return prefix !== undefined && resource.startsWith(prefix);
}

export function grantPaths(model: TemplateModel): AccessPath[] {
  return model.ids("AWS::Lambda::Function").flatMap((fn) => {
    const role = roleOf(model, fn);
    if (!role) return [];
    const principal = model.arnOf(role);
    const statements = identityStatements(model, role).filter(
      (s) => s.statement.Effect === "Allow",
    );
    const prefix = keyPrefixOf(model, fn);
    return [...wiringOf(model, fn)].map(([id, via]): AccessPath => {
      const requests = new Map<string, IamRequest>();
      const add = (action: string, resource: string) => {
        const context = ITEM_ACTIONS.has(action)
          ? tls({ "dynamodb:LeadingKeys": [`${prefix}#probe`] })
          : tls();
        requests.set(`${action} ${resource}`, { principal, action, resource, context });
      };
      for (const { actions, resources } of statements) {
        for (const resource of resources.filter((r) => covers(model, id, r))) {
          // A wildcard action is no data path of its own; the refusals catch what it opens.
          for (const action of actions.filter((a) => !a.includes("*"))) {
            add(action, resource.replaceAll("*", "probe"));
          }
        }
      }
      if (requests.size === 0) add(AT_LEAST[model.typeOf(id)] ?? "", model.arnOf(id));
      const key = keyOf(model, id);
      if (key) {
        const actions = [...requests.values()].map((r) => r.action);
        if (actions.some((a) => a === "sqs:SendMessage" || a === "sns:Publish")) {
          add("kms:GenerateDataKey", model.arnOf(key));
        }
        if (actions.some((a) => a.startsWith("sqs:") || a === "sns:Publish")) {
          add("kms:Decrypt", model.arnOf(key));
        }
      }
      return {
        kind: "grant by wiring",
        from: model.label(fn),
        to: `${model.label(id)} (${[...new Set(via)].join(", ")})`,
        expect: "allowed",
        requests: [...requests.values()],
      };
    });
  });
}
