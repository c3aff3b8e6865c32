import { fileURLToPath } from "node:url";
import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { IdempotencyTable } from "../../../../lib/spool/idempotency-table/index.js";
import {
  LANE_METADATA_KEY,
  lanesEnvName,
  laneUrlEnvName,
  PriorityLanes,
  type PriorityLanesProps,
  priorityLanesKind,
} from "../../../../lib/spool/priority-lanes/index.js";
import { consumerKind } from "../../../../lib/spool/queue-consumer/index.js";
import { CONSUMER_ENV } from "../../../../lib/spool/runtime/consumer-config.js";
import { SpoolFunction } from "../../../../lib/spool/spool-function/index.js";
import { expectRefusal } from "../../../helpers/errors.js";
import { alarmsOf, dashboardBody, monitoredStack } from "../../../helpers/spool-monitoring.js";

const entry = fileURLToPath(new URL("../../../helpers/fixtures/noop-handler.ts", import.meta.url));

function newStack(bundle: boolean): Stack {
  const app = new App(bundle ? {} : { context: { "aws:cdk:bundling-stacks": [] } });
  return new Stack(app, "Test", { env: { account: "111111111111", region: "us-east-1" } });
}

function build(props: Partial<PriorityLanesProps> = {}, bundle = false) {
  const stack = newStack(bundle);
  const table = new IdempotencyTable(stack, "Idempotency");
  const lanes = new PriorityLanes(stack, "Exports", {
    name: "exports",
    lanes: [
      { name: "high", maxConcurrency: 8 },
      { name: "low", maxConcurrency: 2 },
    ],
    entry,
    idempotencyTable: table.table,
    ...props,
  });
  return { stack, lanes };
}

type Properties = Record<string, unknown>;

describe("PriorityLanes", () => {
  let template: Template;
  let built: ReturnType<typeof build>;
  beforeAll(() => {
    built = build({}, true);
    const producer = new SpoolFunction(built.stack, "Producer", { entry });
    built.lanes.grantSend(producer);
    template = Template.fromStack(built.stack);
  });

  it("makes one queue with a dead-letter queue per lane, tagged with its group and lane", () => {
    // Two sources and their two dead-letter queues.
    template.resourceCountIs("AWS::SQS::Queue", 4);
    const tagged = Object.values(template.findResources("AWS::SQS::Queue"))
      .map((r) => (r as { Metadata?: Record<string, unknown> }).Metadata?.[LANE_METADATA_KEY])
      .filter(Boolean);
    expect(tagged).toEqual([
      { group: "exports", lane: "high", rank: 0 },
      { group: "exports", lane: "low", rank: 1 },
    ]);
  });

  it("gives each lane its own mapping with its own concurrency share", () => {
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
    const mappings = Object.values(template.findResources("AWS::Lambda::EventSourceMapping")).map(
      (r) => (r as { Properties: Properties }).Properties,
    );
    expect(mappings.map((m) => m.ScalingConfig)).toEqual([
      { MaximumConcurrency: 8 },
      { MaximumConcurrency: 2 },
    ]);
    expect(mappings.every((m) => m.BatchSize === 1)).toBe(true);
    const arnOf = (lane: string) => built.stack.resolve(built.lanes.queueOf(lane).queue.queueArn);
    expect(mappings.map((m) => m.EventSourceArn)).toEqual([arnOf("high"), arnOf("low")]);
  });

  it("shares one idempotency key space across lanes and tells them apart by service", () => {
    const envs = [...built.lanes.consumers.values()].map((c) => {
      const id = built.stack.getLogicalId(c.function.node.defaultChild as CfnElement);
      const fn = template.findResources("AWS::Lambda::Function")[id] as {
        Properties: { Environment: { Variables: Properties } };
      };
      return fn.Properties.Environment.Variables;
    });
    expect(envs.map((e) => e[CONSUMER_ENV.consumerName])).toEqual(["exports", "exports"]);
    expect(envs.map((e) => e.POWERTOOLS_SERVICE_NAME)).toEqual(["exports-high", "exports-low"]);
    // Each consumer may touch the shared prefix only.
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Condition: {
              "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["exports#*"] },
            },
          }),
        ]),
      },
    });
    expect(consumerKind().nameOf?.(built.lanes.consumers.get("low") as never)).toBe("exports-low");
  });

  it("writes the lanes and their URLs into a producer's environment and grants the sends", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          [lanesEnvName("exports")]: "high,low",
          [laneUrlEnvName("exports", "high")]: Match.anyValue(),
          [laneUrlEnvName("exports", "low")]: Match.anyValue(),
        }),
      },
    });
    expect(laneUrlEnvName("my-group", "bulk")).toBe("SPOOL_LANE_MY_GROUP_BULK_URL");
  });
});

describe("PriorityLanes under SpoolMonitoring", () => {
  it("is discovered lane by lane: a queue and a consumer alarm set per lane, no name clash", () => {
    const { stack } = monitoredStack({}, (s) => {
      const table = new IdempotencyTable(s, "Idempotency");
      new PriorityLanes(s, "Exports", {
        name: "exports",
        lanes: [
          { name: "high", maxConcurrency: 8 },
          { name: "low", maxConcurrency: 2 },
        ],
        entry,
        idempotencyTable: table.table,
      });
    });
    const names = Object.keys(alarmsOf(Template.fromStack(stack)));
    for (const lane of ["high", "low"]) {
      expect(names).toContain(`Ops-consumer-exports-${lane}-errors`);
      expect(names.some((n) => n.startsWith(`Ops-queue-exports-${lane}-`))).toBe(true);
    }
  });
});

describe("priorityLanesKind", () => {
  it("adds one dashboard row per group with every lane on each graph, highest first, and no alarm", () => {
    const build = (withKind: boolean) =>
      Template.fromStack(
        monitoredStack({}, (s, monitoring) => {
          if (withKind) monitoring.addKind(priorityLanesKind());
          const table = new IdempotencyTable(s, "Idempotency");
          new PriorityLanes(s, "Exports", {
            name: "exports",
            lanes: [
              { name: "high", maxConcurrency: 8 },
              { name: "low", maxConcurrency: 2 },
            ],
            entry,
            idempotencyTable: table.table,
          });
        }).stack,
      );
    const template = build(true);
    const body = dashboardBody(template);
    expect(body).toContain("Priority lanes");
    for (const title of [
      "exports: waiting per lane",
      "exports: oldest message per lane (s)",
      "exports: processed per lane",
      "exports: running per lane (of its share)",
    ]) {
      expect(body).toContain(title);
    }
    // Each lane on the same graph, labelled by lane, its share beside its running count.
    expect(body).toMatch(/\\"label\\":\\"high\\".*\\"label\\":\\"low\\"/);
    expect(body).toContain("high (share 8)");
    expect(body).toContain("low (share 2)");
    // The lanes page through their own queues' and consumers' alarms: the kind adds none.
    expect(Object.keys(alarmsOf(template))).toEqual(Object.keys(alarmsOf(build(false))));
  });
});

describe("PriorityLanes validation", () => {
  const lanes = (...specs: [string, number][]) =>
    specs.map(([name, maxConcurrency]) => ({ name, maxConcurrency }));

  it("refuses fewer than two lanes", () => {
    expectRefusal(
      () => build({ lanes: lanes(["high", 5]) }),
      "Test/Exports",
      "lanes must hold 2 to 10 lanes, got 1",
    );
  });

  it("refuses duplicate lane names", () => {
    expectRefusal(
      () => build({ lanes: lanes(["high", 5], ["high", 2]) }),
      "Test/Exports",
      'lanes[1].name must be unique in the group, got "high" twice',
    );
  });

  it("refuses a lane name outside the pattern", () => {
    expectRefusal(
      () => build({ lanes: lanes(["high", 5], ["Low_Lane", 2]) }),
      "Test/Exports",
      'lanes[1].name must be 1–30 lower-case letters, digits or hyphens, starting with a letter, got "Low_Lane"',
    );
  });

  it("refuses a group name outside the pattern", () => {
    expectRefusal(
      () => build({ name: "Exports!" }),
      "Test/Exports",
      'name must be 1–30 lower-case letters, digits or hyphens, starting with a letter, got "Exports!"',
    );
  });

  it("refuses a concurrency share outside the event source's 2–1000", () => {
    expectRefusal(
      () => build({ lanes: lanes(["high", 5], ["low", 1]) }),
      "Test/Exports",
      "lanes[1].maxConcurrency must be an integer from 2 to 1000, got 1",
    );
    expectRefusal(
      () => build({ lanes: lanes(["high", 1001], ["low", 2]) }),
      "Test/Exports",
      "lanes[0].maxConcurrency must be an integer from 2 to 1000, got 1001",
    );
  });

  it("names the group's lanes when asked for one it lacks", () => {
    const { lanes: group } = build();
    expectRefusal(
      () => group.queueOf("urgent"),
      "Test/Exports",
      'has no lane "urgent"; its lanes: high, low',
    );
  });
});
