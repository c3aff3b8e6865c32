import { App, CfnResource } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { Construct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { EMULATOR_ACCOUNT, SpoolStack } from "../../../lib/example/spool-stack.js";
import { templateApp } from "../../helpers/template-app.js";

const REGION = "us-east-1";
const AWS_ACCOUNT = "111111111111";

const OUTPUTS = [
  "OrdersQueueUrl",
  "OrdersQueueArn",
  "OrdersDeadLetterQueueUrl",
  "NotificationsQueueUrl",
  "NotificationsQueueArn",
  "NotificationsDeadLetterQueueUrl",
  "EffectsTableName",
  "IdempotencyTableName",
  "OrderEventsFunctionName",
  "NotificationsFunctionName",
];

interface Synthesized {
  readonly stack: SpoolStack;
  readonly template: Template;
}

/**
 * The AWS variant is bundled as it deploys (every production bundle must build); the emulator
 * variant is bundled by every deploy to the emulator, so here only its template is read.
 */
function synth(account: string, testHooks: boolean): Synthesized {
  const stack = new SpoolStack(testHooks ? templateApp() : new App(), "Spool", {
    env: { account, region: REGION },
    testHooks,
  });
  return { stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

function functionsOf(template: Template) {
  return Object.values(template.findResources("AWS::Lambda::Function") as Resources).map(
    (f) => f.Properties as { Environment: { Variables: Record<string, unknown> }; Timeout: number },
  );
}

function functionNamed(template: Template, consumerName: string) {
  const fn = functionsOf(template).find(
    (f) => f.Environment.Variables.SPOOL_CONSUMER_NAME === consumerName,
  );
  if (!fn) throw new Error(`no function for consumer ${consumerName}`);
  return fn;
}

/**
 * The stack's shape, small enough to review in a diff: how many resources of each type, and the
 * outputs. Properties that matter are asserted where they are decided (each construct's own test,
 * the security tests over the whole template); this catches a resource appearing or vanishing.
 */
function inventory(template: Template): unknown {
  const json = template.toJSON() as { Resources: Resources; Outputs?: Record<string, unknown> };
  const counts: Record<string, number> = {};
  for (const r of Object.values(json.Resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return {
    resources: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))),
    outputs: Object.keys(json.Outputs ?? {}).sort(),
  };
}

describe("SpoolStack guard", () => {
  it("refuses test hooks outside the emulator account, naming testHooks and the account", () => {
    expect(() => synth(AWS_ACCOUNT, true)).toThrow(
      new RegExp(
        `testHooks needs the emulator account ${EMULATOR_ACCOUNT}, got account ${AWS_ACCOUNT}`,
      ),
    );
  });

  it("refuses test hooks in an environment-agnostic stack (unresolved account)", () => {
    expect(() => new SpoolStack(templateApp(), "Spool", { testHooks: true })).toThrow(
      /testHooks needs the emulator account 000000000000, got account \(unresolved\)/,
    );
  });
});

/** Each variant is synthesized once per file (bundling two Lambdas takes a second or two). */
const cache = new Map<string, Synthesized>();
function variant(account: string, testHooks: boolean): Synthesized {
  const key = `${account}:${testHooks}`;
  let synthesized = cache.get(key);
  if (!synthesized) {
    synthesized = synth(account, testHooks);
    cache.set(key, synthesized);
  }
  return synthesized;
}

/** The resources one part of the stack created, found through its construct tree. */
function resourcesOf(synthesized: Synthesized, type: string, part: Construct) {
  const ids = new Set(
    part.node
      .findAll()
      .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && c.cfnResourceType === type)
      .map((c) => synthesized.stack.getLogicalId(c)),
  );
  const all = synthesized.template.findResources(type) as Resources;
  return Object.entries(all)
    .filter(([id]) => ids.has(id))
    .map(([, r]) => r);
}

function sourceQueues(synthesized: Synthesized) {
  return resourcesOf(synthesized, "AWS::SQS::Queue", synthesized.stack.messaging).filter(
    (q) => q.Properties?.RedrivePolicy !== undefined,
  );
}

/** Functions built by QueueConsumer (they carry Spool's consumer configuration). */
function consumersOf(template: Template) {
  return functionsOf(template).filter((f) => f.Environment.Variables.SPOOL_CONSUMER_NAME);
}

describe.each([
  { name: "emulator with test hooks", account: EMULATOR_ACCOUNT, testHooks: true },
  { name: "AWS without test hooks", account: AWS_ACCOUNT, testHooks: false },
])("SpoolStack ($name)", ({ account, testHooks }) => {
  let template: Template;
  let synthesized: Synthesized;

  // Bundling every Lambda (the AWS variant) takes a while when the suite shares two cores.
  beforeAll(() => {
    synthesized = variant(account, testHooks);
    template = synthesized.template;
  }, 180_000);

  it("has, in its messaging part, two queue pairs and two consumers", () => {
    const messaging = synthesized.stack.messaging;
    expect(resourcesOf(synthesized, "AWS::SQS::Queue", messaging)).toHaveLength(4);
    expect(resourcesOf(synthesized, "AWS::Lambda::EventSourceMapping", messaging)).toHaveLength(2);
    expect(resourcesOf(synthesized, "AWS::Lambda::Function", messaging)).toHaveLength(2);
    // The idempotency and effects tables are shared by every part.
    expect(
      Object.keys(template.findResources("AWS::DynamoDB::Table")).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it("makes the orders queue pair FIFO and the notifications pair standard", () => {
    const queues = resourcesOf(synthesized, "AWS::SQS::Queue", synthesized.stack.messaging).map(
      (q) => q.Properties ?? {},
    );
    const fifo = queues.filter((q) => q.FifoQueue === true);
    expect(fifo).toHaveLength(2);
    for (const q of fifo) expect(String(q.QueueName)).toMatch(/Orders.*\.fifo$/);
    const standard = queues.filter((q) => q.FifoQueue === undefined);
    expect(standard).toHaveLength(2);
    for (const q of standard) expect(String(q.QueueName)).toMatch(/Notifications/);
  });

  it("declares every output the scripts and integration tests read", () => {
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    for (const name of OUTPUTS) expect(outputs).toContain(name);
  });

  it("names the consumers order-events and notifications, with the effects table", () => {
    const effectsTableRef = template.toJSON().Outputs.EffectsTableName.Value;
    for (const name of ["order-events", "notifications"]) {
      const fn = functionNamed(template, name);
      expect(fn.Environment.Variables.EFFECTS_TABLE).toEqual(effectsTableRef);
    }
  });

  it("keeps its inventory: resources by type and the outputs", () => {
    expect(inventory(template)).toMatchSnapshot();
  });
});

describe("SpoolStack test hooks", () => {
  it("turn fault injection on and shorten timings in the emulator account", () => {
    const synthesized = variant(EMULATOR_ACCOUNT, true);
    const { template } = synthesized;
    const consumers = consumersOf(template);
    expect(consumers.length).toBeGreaterThanOrEqual(2);
    for (const fn of consumers) {
      expect(fn.Environment.Variables.SPOOL_FAULT_INJECTION).toBe("enabled");
      // The long-work and chunked-job consumers' records run longer than 5 s on purpose (see
      // their tests below).
      if (
        ["long-work", "chunked-job"].includes(String(fn.Environment.Variables.SPOOL_CONSUMER_NAME))
      ) {
        continue;
      }
      // The rate-limited and tenant-fair parts get three times that
      // (lib/example/parts/rate-limited.ts, tenant-fairness.ts), the continued-job consumer twice
      // (its chunks fill 6 of its 10 s; see its test below).
      const own: Record<string, number> = {
        "rate-limited": 15,
        "tenant-fair": 15,
        "continued-job": 10,
      };
      expect(fn.Timeout).toBe(own[String(fn.Environment.Variables.SPOOL_CONSUMER_NAME)] ?? 5);
      expect(fn.Environment.Variables.SPOOL_BACKOFF_BASE_SECONDS).toBe("1");
      expect(fn.Environment.Variables.SPOOL_BACKOFF_CAP_SECONDS).toBe("8");
    }
    expect(sourceQueues(synthesized).map((q) => q.Properties?.VisibilityTimeout)).toEqual([30, 30]);
  });

  it("add a long-work consumer whose heartbeat, not its queue, keeps long records hidden", () => {
    const synthesized = variant(EMULATOR_ACCOUNT, true);
    const fn = functionNamed(synthesized.template, "long-work");
    expect(fn.Timeout).toBe(60);
    expect(fn.Environment.Variables).toMatchObject({
      SPOOL_HEARTBEAT_EVERY_SECONDS: "5",
      SPOOL_HEARTBEAT_EXTEND_BY_SECONDS: "15",
    });
    const longWork = synthesized.stack.longWork;
    if (!longWork) throw new Error("no long-work part with test hooks");
    const [queue] = resourcesOf(synthesized, "AWS::SQS::Queue", longWork).filter(
      (q) => q.Properties?.RedrivePolicy !== undefined,
    );
    // Shorter than one record's run: without the heartbeat it would be redelivered mid-run.
    expect(queue?.Properties?.VisibilityTimeout).toBe(15);
    expect(variant(AWS_ACCOUNT, false).stack.longWork).toBeUndefined();
  });

  it("add a rate-limited consumer (5 a second, burst 5) that keeps its buckets in the idempotency table", () => {
    const synthesized = variant(EMULATOR_ACCOUNT, true);
    const fn = functionNamed(synthesized.template, "rate-limited");
    expect(fn.Environment.Variables).toMatchObject({
      SPOOL_RATE_LIMIT_PER_SECOND: "5",
      SPOOL_RATE_LIMIT_BURST: "5",
    });
    expect(fn.Environment.Variables.SPOOL_IDEMPOTENCY_TABLE).toBeDefined();
    // The suite and the chaos check push notifications through fast: no limit locally.
    const local = functionNamed(synthesized.template, "notifications");
    expect(local.Environment.Variables).not.toHaveProperty("SPOOL_RATE_LIMIT_PER_SECOND");
    const aws = variant(AWS_ACCOUNT, false);
    expect(aws.stack.rateLimited).toBeUndefined();
    expect(functionNamed(aws.template, "notifications").Environment.Variables).toMatchObject({
      SPOOL_RATE_LIMIT_PER_SECOND: "14",
      SPOOL_RATE_LIMIT_BURST: "14",
    });
  });

  it("add a chunked-job consumer that tracks its messages as jobs in the workflows' job table", () => {
    const synthesized = variant(EMULATOR_ACCOUNT, true);
    const fn = functionNamed(synthesized.template, "chunked-job");
    const jobsTable = synthesized.template.toJSON().Outputs.JobsTableName.Value;
    expect(fn.Environment.Variables).toMatchObject({
      SPOOL_JOBS_TABLE: jobsTable,
      SPOOL_JOB_KIND: "chunked-job",
      SPOOL_HEARTBEAT_EVERY_SECONDS: "5",
    });
    expect(fn.Timeout).toBe(120);
    expect(variant(AWS_ACCOUNT, false).stack.chunkedJobs).toBeUndefined();
  });

  it("add an approval saga whose callback step waits 20 s for spool jobs approve|reject", () => {
    const synthesized = variant(EMULATOR_ACCOUNT, true);
    const approvals = synthesized.stack.approvals;
    expect(approvals).toBeDefined();
    const machines = synthesized.template.findResources("AWS::StepFunctions::StateMachine");
    const approval = Object.entries(machines).find(([id]) => id.startsWith("ApprovalsApproval"));
    const definition = JSON.stringify(approval?.[1].Properties.DefinitionString);
    expect(definition).toContain("lambda:invoke.waitForTaskToken");
    expect(definition).toContain('\\"TimeoutSeconds\\":20');
    expect(variant(AWS_ACCOUNT, false).stack.approvals).toBeUndefined();
  });

  it("add a continued-job consumer whose jobs outlast its 10 s timeout, continued on its own queue", () => {
    const synthesized = variant(EMULATOR_ACCOUNT, true);
    const fn = functionNamed(synthesized.template, "continued-job");
    const jobsTable = synthesized.template.toJSON().Outputs.JobsTableName.Value;
    expect(fn.Environment.Variables).toMatchObject({
      SPOOL_JOBS_TABLE: jobsTable,
      SPOOL_JOB_KIND: "continued-job",
    });
    // A 12-item job of 1.5 s items (18 s) cannot fit one invocation.
    expect(fn.Timeout).toBe(10);
    expect(fn.Environment.Variables).not.toHaveProperty("SPOOL_HEARTBEAT_EVERY_SECONDS");
    const parts = synthesized.stack.chunkedJobs;
    if (!parts) throw new Error("no chunked-jobs part with test hooks");
    const queues = resourcesOf(synthesized, "AWS::SQS::Queue", parts.continuedQueue).filter(
      (q) => q.Properties?.RedrivePolicy !== undefined,
    );
    expect(queues.map((q) => q.Properties?.VisibilityTimeout)).toEqual([60]);
  });

  it("add a breaker-guarded consumer whose breaker is declared (alarmed) and kept in the idempotency table", () => {
    const synthesized = variant(EMULATOR_ACCOUNT, true);
    const fn = functionNamed(synthesized.template, "breaker-guarded");
    expect(fn.Environment.Variables.SPOOL_IDEMPOTENCY_TABLE).toBeDefined();
    expect(synthesized.stack.breakerGuarded?.consumer.breakers).toEqual(["dependency"]);
    expect(variant(AWS_ACCOUNT, false).stack.breakerGuarded).toBeUndefined();
  });

  it("are absent without testHooks: no fault injection, production timings", () => {
    const synthesized = variant(AWS_ACCOUNT, false);
    const { template } = synthesized;
    for (const fn of functionsOf(template)) {
      expect(fn.Environment.Variables).not.toHaveProperty("SPOOL_FAULT_INJECTION");
    }
    for (const fn of consumersOf(template)) {
      expect(fn.Timeout).toBe(30);
      expect(fn.Environment.Variables.SPOOL_BACKOFF_BASE_SECONDS).toBe("2");
      expect(fn.Environment.Variables.SPOOL_BACKOFF_CAP_SECONDS).toBe("300");
    }
    expect(sourceQueues(synthesized).map((q) => q.Properties?.VisibilityTimeout)).toEqual([
      180, 180,
    ]);
  });

  it("are off by default even in the emulator account", () => {
    const stack = new SpoolStack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Spool", {
      env: { account: EMULATOR_ACCOUNT, region: REGION },
    });
    for (const fn of functionsOf(Template.fromStack(stack))) {
      expect(fn.Environment.Variables).not.toHaveProperty("SPOOL_FAULT_INJECTION");
    }
  });
});
