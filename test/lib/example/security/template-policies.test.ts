import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS } from "../../../../lib/spool/spool-function/index.js";
import { allStacks } from "../../../helpers/all-stacks.js";

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource?: unknown };

/** Actions AWS offers no resource-level permission for: the only ones allowed on "*". */
const RESOURCELESS_ACTIONS = new Set(ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS);

const CURRENT_NODE_RUNTIMES = new Set(["nodejs22.x", "nodejs24.x"]);

const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

function resources(template: Template, type?: string): [string, Resource][] {
  const all = template.toJSON().Resources as Record<string, Resource>;
  return Object.entries(all).filter(([, r]) => type === undefined || r.Type === type);
}

function statements(template: Template): { where: string; statement: Statement }[] {
  const found: { where: string; statement: Statement }[] = [];
  for (const [id, r] of resources(template)) {
    const documents: unknown[] = [];
    if (r.Type === "AWS::IAM::Policy" || r.Type === "AWS::IAM::ManagedPolicy")
      documents.push(r.Properties?.PolicyDocument);
    if (r.Type === "AWS::IAM::Role") {
      for (const p of asArray(r.Properties?.Policies as { PolicyDocument: unknown }[]))
        documents.push(p.PolicyDocument);
    }
    for (const d of documents) {
      for (const statement of asArray((d as { Statement?: Statement[] })?.Statement))
        found.push({ where: id, statement });
    }
  }
  return found;
}

describe.each(allStacks())("security gates on $name", ({ stack }) => {
  const template = Template.fromStack(stack);

  it("grants no wildcard action (no '*', no 'service:*')", () => {
    const wild = statements(template)
      .filter(({ statement }) => statement.Effect === "Allow")
      .flatMap(({ where, statement }) =>
        asArray(statement.Action)
          .filter((a) => a === "*" || /^[a-z0-9-]+:\*$/i.test(a))
          .map((a) => `${where}: ${a}`),
      );
    expect(wild).toEqual([]);
  });

  it("allows Resource '*' only for actions that have no resource-level permissions", () => {
    const broad = statements(template)
      .filter(
        ({ statement }) =>
          statement.Effect === "Allow" && asArray(statement.Resource).includes("*"),
      )
      .flatMap(({ where, statement }) =>
        asArray(statement.Action)
          .filter((a) => !RESOURCELESS_ACTIONS.has(a))
          .map((a) => `${where}: ${a} on *`),
      );
    expect(broad).toEqual([]);
  });

  it("encrypts every queue and refuses plain-HTTP access to it", () => {
    const queues = resources(template, "AWS::SQS::Queue");
    expect(queues.length).toBeGreaterThan(0);
    const policies = resources(template, "AWS::SQS::QueuePolicy");
    for (const [id, queue] of queues) {
      const encrypted =
        queue.Properties?.SqsManagedSseEnabled === true ||
        queue.Properties?.KmsMasterKeyId !== undefined;
      expect(encrypted, `${id} is encrypted`).toBe(true);
      const tlsOnly = policies.some(([, p]) => {
        const targets = JSON.stringify(p.Properties?.Queues);
        const denies = asArray(
          (p.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement,
        ).some(
          (s) => s.Effect === "Deny" && JSON.stringify(s).includes('"aws:SecureTransport":"false"'),
        );
        return targets.includes(`"${id}"`) && denies;
      });
      expect(tlsOnly, `${id} refuses requests without TLS`).toBe(true);
    }
  });

  it("turns point-in-time recovery on for every table", () => {
    for (const [id, table] of resources(template, "AWS::DynamoDB::Table")) {
      expect(
        (
          table.Properties?.PointInTimeRecoverySpecification as {
            PointInTimeRecoveryEnabled?: boolean;
          }
        )?.PointInTimeRecoveryEnabled,
        `${id} has PITR`,
      ).toBe(true);
    }
  });

  it("logs and traces every state machine", () => {
    for (const [id, machine] of resources(template, "AWS::StepFunctions::StateMachine")) {
      expect(
        (machine.Properties?.LoggingConfiguration as { Level?: string })?.Level,
        `${id} logs`,
      ).toBe("ALL");
      expect(
        (machine.Properties?.TracingConfiguration as { Enabled?: boolean })?.Enabled,
        `${id} traces`,
      ).toBe(true);
    }
  });

  it("runs every Lambda on a current Node.js runtime, traced, with its logs kept for a bounded time", () => {
    const functions = resources(template, "AWS::Lambda::Function");
    expect(functions.length).toBeGreaterThan(0);
    for (const [id, fn] of functions) {
      expect(CURRENT_NODE_RUNTIMES.has(String(fn.Properties?.Runtime)), `${id} runtime`).toBe(true);
      expect((fn.Properties?.TracingConfig as { Mode?: string })?.Mode, `${id} tracing`).toBe(
        "Active",
      );
    }
    for (const [id, group] of resources(template, "AWS::Logs::LogGroup")) {
      expect(group.Properties?.RetentionInDays, `${id} retention`).toBeGreaterThan(0);
    }
  });
});
