import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { AccessProof } from "../../../tools/scripts/access-proof/access-path.js";
import { proveAccess } from "../../../tools/scripts/access-proof/evaluate.js";
import {
  ACCESS_PROOF_DOC,
  accessDoc,
  accessTable,
  summary,
} from "../../../tools/scripts/access-proof/table.js";
import { AWS_ENV, awsTemplate } from "../../../tools/scripts/lib/aws-template.js";

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
type Template = { Resources: Record<string, Resource> };

let template: Template;
let proof: AccessProof;

beforeAll(async () => {
  template = awsTemplate() as Template;
  proof = await proveAccess(template, AWS_ENV);
  // Synthesizing the reference stack takes a while on a shared 2-core machine.
}, 120_000);

/** A copy of the template with one change, proved again. */
async function proveMutated(mutate: (t: Template) => void): Promise<AccessProof> {
  const copy = structuredClone(template);
  mutate(copy);
  return proveAccess(copy, AWS_ENV);
}

function resource(t: Template, type: string, idPrefix: string): Resource {
  const found = Object.entries(t.Resources).find(
    ([id, r]) => r.Type === type && id.startsWith(idPrefix),
  );
  if (!found) throw new Error(`no ${type} named ${idPrefix}*`);
  return found[1];
}

type Statement = Record<string, unknown>;
const documentOf = (policy: Resource) =>
  policy.Properties.PolicyDocument as { Statement: Statement[] };
const statementsOf = (policy: Resource): Statement[] => documentOf(policy).Statement;

describe("the access proof over the real-AWS synth", () => {
  it("allows every data path the template wires and refuses every path that must be refused", () => {
    console.log(`${accessTable(proof)}\n\n${summary(proof)}`);
    expect(proof.failures).toEqual([]);
  });

  it("derives every kind of path from the template", () => {
    const kinds = new Set(proof.results.map((r) => r.path.kind));
    for (const kind of [
      "event source mapping",
      "stream",
      "mapping on-failure destination",
      "rule target",
      "rule dead-letter queue",
      "schedule target",
      "alarm action",
      "function dead-letter queue",
      "redrive",
      "state machine task",
      "grant by wiring",
      "another consumer's idempotency records",
      "rate-limit bucket",
      "another consumer's rate-limit bucket",
      "plain HTTP",
      "another account",
      "Scheduler beyond its targets",
      "rule beyond its targets",
      "beyond its wiring",
      "redrive from a queue not admitted",
    ]) {
      expect(kinds).toContain(kind);
    }
    // Every mapping, rule target and alarm of the template is a path of its own (or, for the
    // alarms, a request of the alarm-action path).
    const count = (type: string) =>
      Object.values(template.Resources).filter((r) => r.Type === type).length;
    const paths = (kind: string) => proof.results.filter((r) => r.path.kind === kind);
    expect(paths("event source mapping").length + paths("stream").length).toBe(
      count("AWS::Lambda::EventSourceMapping"),
    );
    expect(paths("alarm action")[0]?.path.requests.length).toBe(
      count("AWS::CloudWatch::Alarm") * 3,
    );
  });

  it("keeps docs/access-proof.md up to date (npm run access-proof writes it)", () => {
    expect(readFileSync(ACCESS_PROOF_DOC, "utf8")).toBe(accessDoc(proof));
  });
});

describe("the access proof catches a permission too few", () => {
  it("reports an event source mapping whose role lost its grant on the queue", async () => {
    const mutated = await proveMutated((t) => {
      const policy = resource(t, "AWS::IAM::Policy", "MessagingOrderEventsConsumerFunctionRole");
      documentOf(policy).Statement = statementsOf(policy).filter(
        (s) => !JSON.stringify(s.Action).includes("sqs:ReceiveMessage"),
      );
    });
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        /^event source mapping: MessagingOrderEventsConsumerFunction → MessagingOrdersQueue: .* sqs:ReceiveMessage .* should be allowed, got ImplicitlyDenied$/,
      ),
    );
  });

  it("reports the alarm topic without CloudWatch's publish statement (issue 11, defect 1)", async () => {
    const mutated = await proveMutated((t) => {
      const policy = resource(t, "AWS::SNS::TopicPolicy", "OperationsMonitoringAlarmTopicPolicy");
      documentOf(policy).Statement = statementsOf(policy).filter(
        (s) => s.Sid !== "AllowCloudWatchAlarms",
      );
    });
    // The alarm count follows the stack (dead-letter expiry alarms took it past 95).
    const alarms = Object.values(template.Resources).filter(
      (r) => r.Type === "AWS::CloudWatch::Alarm",
    ).length;
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^alarm action: ${alarms} alarms → OperationsMonitoringAlarmTopic: cloudwatch\\.amazonaws\\.com sns:Publish .* should be allowed, got ImplicitlyDenied$`,
        ),
      ),
    );
  });

  it("reports a rule whose queue policy no longer lets it deliver", async () => {
    const mutated = await proveMutated((t) => {
      const policy = resource(t, "AWS::SQS::QueuePolicy", "EventsAnalyticsQueuePolicy");
      documentOf(policy).Statement = statementsOf(policy).filter((s) => s.Effect !== "Allow");
    });
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(/^rule target: rule EventsAnalyticsRule → EventsAnalyticsQueue: /),
    );
  });

  it("reports a new function handed a table by environment variable without a grant", async () => {
    const mutated = await proveMutated((t) => {
      t.Resources.AuditReaderRole = {
        Type: "AWS::IAM::Role",
        Properties: { AssumeRolePolicyDocument: { Statement: [] } },
      };
      t.Resources.AuditReader = {
        Type: "AWS::Lambda::Function",
        Properties: {
          Role: { "Fn::GetAtt": ["AuditReaderRole", "Arn"] },
          Environment: { Variables: { AUDIT_TABLE: { Ref: "OperationsOperatorAuditF7ABCC8A" } } },
        },
      };
    });
    expect(mutated.failures).toEqual([
      expect.stringMatching(
        /^grant by wiring: AuditReader → OperationsOperatorAudit \(AUDIT_TABLE\): .* dynamodb:GetItem .* should be allowed, got ImplicitlyDenied$/,
      ),
    ]);
  });
});

describe("the access proof catches a permission too many", () => {
  it("reports the Scheduler's role allowed to send to any queue", async () => {
    const mutated = await proveMutated((t) => {
      const policy = resource(t, "AWS::IAM::Policy", "SchedulingTasksSchedulerRoleDefaultPolicy");
      statementsOf(policy).push({ Effect: "Allow", Action: "sqs:SendMessage", Resource: "*" });
    });
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        /^Scheduler beyond its targets: Scheduler role SchedulingTasksSchedulerRole → .* sqs:SendMessage .*Messaging-Orders-.* should be denied, got Allowed$/,
      ),
    );
  });

  it("reports a consumer whose idempotency grant lost its key condition", async () => {
    const mutated = await proveMutated((t) => {
      const policy = resource(t, "AWS::IAM::Policy", "EventsAnalyticsConsumerFunctionRole");
      for (const s of statementsOf(policy)) delete s.Condition;
    });
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        /^another consumer's idempotency records: EventsAnalyticsConsumerFunction → .* dynamodb:GetItem .*dynamodb:LeadingKeys=payments#probe.* should be denied, got Allowed$/,
      ),
    );
  });

  it("reports a neighbour able to move a rate-limited consumer's bucket, and one that cannot move its own", async () => {
    const mutated = await proveMutated((t) => {
      const neighbour = resource(t, "AWS::IAM::Policy", "EventsAnalyticsConsumerFunctionRole");
      for (const s of statementsOf(neighbour)) delete s.Condition;
      const owner = resource(t, "AWS::IAM::Policy", "MessagingNotificationsConsumerFunctionRole");
      for (const s of statementsOf(owner)) {
        if (Array.isArray(s.Action)) s.Action = s.Action.filter((a) => a !== "dynamodb:UpdateItem");
      }
    });
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        /^another consumer's rate-limit bucket: .* dynamodb:UpdateItem .*dynamodb:LeadingKeys=notifications#rate-limit#probe.* should be denied, got Allowed$/,
      ),
    );
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        /^rate-limit bucket: MessagingNotificationsConsumerFunction → .* dynamodb:UpdateItem .*notifications#rate-limit#probe.* should be allowed, got ImplicitlyDenied$/,
      ),
    );
  });

  it("proves a consumer with tenant fairness can move its own tenant leases and a neighbour cannot", async () => {
    // The reference stack's AWS template has no consumer with tenantFairness (only the emulator's
    // test-hooks part has one): give the notifications consumer the quota's variable.
    const withQuota = (t: Template) => {
      const fn = resource(t, "AWS::Lambda::Function", "MessagingNotificationsConsumerFunction");
      const env = fn.Properties.Environment as { Variables: Record<string, unknown> };
      env.Variables.SPOOL_TENANT_MAX_IN_FLIGHT = "10";
    };
    const proved = await proveMutated(withQuota);
    expect(proved.failures).toEqual([]);
    const kinds = proved.results.map((r) => r.path.kind);
    expect(kinds).toContain("tenant lease");
    expect(kinds).toContain("another consumer's tenant leases");
    const broken = await proveMutated((t) => {
      withQuota(t);
      const neighbour = resource(t, "AWS::IAM::Policy", "EventsAnalyticsConsumerFunctionRole");
      for (const s of statementsOf(neighbour)) delete s.Condition;
    });
    expect(broken.failures).toContainEqual(
      expect.stringMatching(
        /^another consumer's tenant leases: .* dynamodb:UpdateItem .*dynamodb:LeadingKeys=notifications#tenant-quota#probe.* should be denied, got Allowed$/,
      ),
    );
  });

  it("proves a FIFO consumer with group holds can read, move and release its own holds and a neighbour cannot", async () => {
    // The AWS template has no consumer with holdGroupOnDeadLetter (only the emulator's test-hooks
    // part has one): give the order-events consumer the hold's variable.
    const withHolds = (t: Template) => {
      const fn = resource(t, "AWS::Lambda::Function", "MessagingOrderEventsConsumerFunction");
      const env = fn.Properties.Environment as { Variables: Record<string, unknown> };
      env.Variables.SPOOL_HOLD_GROUP_ON_DEAD_LETTER = "true";
    };
    const proved = await proveMutated(withHolds);
    expect(proved.failures).toEqual([]);
    const own = proved.results.filter((r) => r.path.kind === "group hold");
    expect(
      own.flatMap((r) => r.path.requests.map((q) => ("action" in q ? q.action : ""))).sort(),
    ).toEqual(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]);
    expect(proved.results.map((r) => r.path.kind)).toContain("another consumer's group holds");
    const broken = await proveMutated((t) => {
      withHolds(t);
      const neighbour = resource(t, "AWS::IAM::Policy", "EventsAnalyticsConsumerFunctionRole");
      for (const s of statementsOf(neighbour)) delete s.Condition;
    });
    expect(broken.failures).toContainEqual(
      expect.stringMatching(
        /^another consumer's group holds: .* dynamodb:UpdateItem .*dynamodb:LeadingKeys=order-events#group-hold#probe.* should be denied, got Allowed$/,
      ),
    );
  });

  it("reports a consumer granted a wildcard on the tables", async () => {
    const mutated = await proveMutated((t) => {
      const policy = resource(t, "AWS::IAM::Policy", "MessagingNotificationsConsumerFunctionRole");
      statementsOf(policy).push({ Effect: "Allow", Action: "dynamodb:*", Resource: "*" });
    });
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        /^beyond its wiring: MessagingNotificationsConsumerFunction .* dynamodb:PutItem .*WorkflowsJobsTable.* should be denied, got Allowed$/,
      ),
    );
  });

  it("reports a queue policy open to every principal, and one that lost its TLS deny", async () => {
    const mutated = await proveMutated((t) => {
      const open = resource(t, "AWS::SQS::QueuePolicy", "MessagingNotificationsQueuePolicy");
      statementsOf(open).push({
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: "sqs:SendMessage",
        Resource: "*",
      });
      const plain = resource(t, "AWS::SQS::QueuePolicy", "MessagingOrdersQueuePolicy");
      documentOf(plain).Statement = [];
    });
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        /^another account: a principal of account 210987654321 .* sqs:SendMessage .*Messaging-Notifications-.* should be denied, got Allowed$/,
      ),
    );
    expect(mutated.failures).toContainEqual(
      expect.stringMatching(
        /^plain HTTP: .* sqs:ReceiveMessage .*Messaging-Orders-.*aws:SecureTransport=false.* should be denied, got Allowed$/,
      ),
    );
  });
});
