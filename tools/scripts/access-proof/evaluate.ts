/**
 * Evaluates every path of a template with an IAM policy simulator: each request against the
 * caller's identity policies, the resource's policy (queue, topic, function, key, table) and
 * their conditions, as AWS would.
 *
 * The only module that imports @cloud-copilot/iam-simulate (AGPL-3.0, a dev dependency used by
 * the access-proof test and `npm run access-proof`, never bundled into a function nor copied with
 * a construct; .dependency-cruiser.cjs keeps every other module from reaching it).
 */
import { runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import {
  type AccessPath,
  type AccessProof,
  type AccessRequest,
  type Decision,
  type IamRequest,
  isRedrive,
  type PathResult,
  type RedriveRequest,
} from "./access-path.js";
import { accessPaths } from "./paths.js";
import { identityPolicies, type NamedPolicy, resourcePolicy } from "./policies.js";
import { administratorOf, outsiderOf } from "./refusals.js";
import { type CfnTemplate, TemplateModel } from "./template-model.js";

const ALLOW_EVERYTHING: NamedPolicy = {
  name: "AllowEverything",
  policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
};

/** Evaluates every path of a synthesized template (its JSON) made for `env`. */
export async function proveAccess(
  template: object,
  env: { account: string; region: string },
): Promise<AccessProof> {
  const model = new TemplateModel(template as CfnTemplate, env.account, env.region);
  const results: PathResult[] = [];
  for (const path of accessPaths(model)) {
    const decisions: Decision[] = [];
    for (const request of path.requests) decisions.push(await decide(model, request));
    const failures = path.requests.flatMap((request, i) => {
      const decision = decisions[i] as Decision;
      const wanted =
        path.expect === "allowed" ? decision === "Allowed" : decision.endsWith("Denied");
      return wanted
        ? []
        : [
            `${describePath(path)}: ${describeRequest(request)} should be ${path.expect}, got ${decision}`,
          ];
    });
    if (path.requests.length === 0 && path.expect === "allowed") {
      failures.push(`${describePath(path)}: no request derived`);
    }
    results.push({ path, decisions, failures });
  }
  return { results, failures: results.flatMap((r) => r.failures) };
}

function describePath(path: AccessPath): string {
  return `${path.kind}: ${path.from} → ${path.to}`;
}

function describeRequest(request: AccessRequest): string {
  if (isRedrive(request)) return `redrive ${request.redriveFrom} → ${request.deadLetterQueue}`;
  const context = Object.entries(request.context)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
    .join(", ");
  return `${request.principal} ${request.action} ${request.resource} [${context}]`;
}

async function decide(model: TemplateModel, request: AccessRequest): Promise<Decision> {
  if (isRedrive(request)) return redriveDecision(model, request);
  const simulation: Simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: accountOf(model, request) },
      contextVariables: { ...request.context },
    },
    identityPolicies: identityOf(model, request.principal),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: resourcePolicyOf(model, request.resource),
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === "error") return `Error: ${JSON.stringify(response.errors)}`;
  return response.overallResult as Decision;
}

function identityOf(model: TemplateModel, principal: string): NamedPolicy[] {
  if (principal === administratorOf(model) || principal === outsiderOf(model)) {
    return [ALLOW_EVERYTHING];
  }
  const role = model.idOf(principal);
  return role && model.typeOf(role) === "AWS::IAM::Role" ? identityPolicies(model, role) : [];
}

function resourcePolicyOf(model: TemplateModel, resource: string) {
  // An S3 object is governed by its bucket's policy (TLS-only for a PayloadStore).
  const owner = resource.startsWith(`arn:${model.partition}:s3:::`)
    ? (resource.split("/")[0] ?? resource)
    : resource;
  const id = model.idOf(owner);
  // A table's stream has a policy of its own, not the table's.
  if (!id || model.arnOf(id) !== owner) return undefined;
  return resourcePolicy(model, id);
}

/** The account that owns the resource: the ARN's, or the caller's for "*". */
function accountOf(model: TemplateModel, request: IamRequest): string {
  const fromArn = request.resource.split(":")[4];
  if (fromArn) return fromArn;
  const fromPrincipal = request.principal.split(":")[4];
  return fromPrincipal || model.account;
}

/** SQS moves a message to a dead-letter queue only if its RedriveAllowPolicy admits the source. */
function redriveDecision(model: TemplateModel, request: RedriveRequest): Decision {
  const source = model.props(request.redriveFrom);
  const dlq = model.props(request.deadLetterQueue);
  if (Boolean(source.FifoQueue) !== Boolean(dlq.FifoQueue)) return "ImplicitlyDenied";
  const policy = model.resolve(dlq.RedriveAllowPolicy) as
    | { redrivePermission?: string; sourceQueueArns?: string[] }
    | undefined;
  const permission = policy?.redrivePermission ?? "allowAll";
  if (permission === "allowAll") return "Allowed";
  if (permission === "denyAll") return "ExplicitlyDenied";
  return (policy?.sourceQueueArns ?? []).includes(model.arnOf(request.redriveFrom))
    ? "Allowed"
    : "ImplicitlyDenied";
}
