/**
 * A consumer's group hold (`holdGroupOnDeadLetter`): FIFO sources only, with an idempotency
 * table, handed to the handler in its environment, its items kept under the grant the consumer
 * already has.
 */
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { expectRefusal } from "../../../helpers/errors.js";
import {
  type ConsumerTestProps,
  consumerVariables,
  monitoredConsumer,
} from "../../../helpers/queue-consumer-stack.js";
import { alarmsOf, dashboardBody } from "../../../helpers/spool-monitoring.js";

const consumer = { id: "Ledger", queueId: "Entries", consumerName: "ledger", fifo: true };
const build = (props: ConsumerTestProps, monitoring = {}) =>
  monitoredConsumer(consumer, props, monitoring);
const variables = (template: Template) => consumerVariables(template, consumer.consumerName);

describe("QueueConsumer holdGroupOnDeadLetter", () => {
  it("writes the switch into the environment when on; nothing when off (the default)", () => {
    const on = Template.fromStack(build({ holdGroupOnDeadLetter: true }).stack);
    expect(variables(on)).toMatchObject({ SPOOL_HOLD_GROUP_ON_DEAD_LETTER: "true" });
    for (const props of [{}, { holdGroupOnDeadLetter: false }]) {
      const off = Template.fromStack(build(props).stack);
      expect(variables(off)?.SPOOL_HOLD_GROUP_ON_DEAD_LETTER).toBeUndefined();
    }
  });

  it("keeps its holds under the consumer's own keys: no grant beyond the one it has", () => {
    const statements = (template: Template) =>
      JSON.stringify(
        Object.values(template.findResources("AWS::IAM::Policy")).map(
          (p) => p.Properties.PolicyDocument.Statement,
        ),
      );
    const on = Template.fromStack(build({ holdGroupOnDeadLetter: true }).stack);
    const off = Template.fromStack(build({}).stack);
    expect(statements(on)).toEqual(statements(off));
    expect(statements(on)).toContain('"dynamodb:LeadingKeys":["ledger#*"]');
  });

  it("refuses a standard source, naming the path, the prop and the value", () => {
    expectRefusal(
      () => build({ holdGroupOnDeadLetter: true, fifo: false }),
      "Ops/Ledger",
      "holdGroupOnDeadLetter needs a FIFO source (a standard queue has no message groups to hold), got true on a standard queue",
    );
  });

  it("refuses a consumer without an idempotency table", () => {
    expectRefusal(
      () => build({ holdGroupOnDeadLetter: true, withTable: false }),
      "Ops/Ledger",
      "holdGroupOnDeadLetter needs idempotencyTable (each group's hold is kept there), got true and no idempotencyTable",
    );
  });

  it("alarms when a group is held, and graphs holds, parked records and releases", () => {
    const template = Template.fromStack(build({ holdGroupOnDeadLetter: true }).stack);
    expect(alarmsOf(template)["Ops-consumer-ledger-group-held"]).toMatchObject({
      Namespace: "Spool",
      MetricName: "GroupHeld",
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      Dimensions: expect.arrayContaining([{ Name: "consumer", Value: "ledger" }]),
    });
    for (const metric of ["GroupHeld", "GroupHoldParked", "GroupHoldReleased"]) {
      expect(dashboardBody(template)).toContain(`\\"${metric}\\"`);
    }
    const off = Template.fromStack(build({}).stack);
    expect(Object.keys(alarmsOf(off)).filter((n) => n.includes("group-held"))).toEqual([]);
    expect(dashboardBody(off)).not.toContain("GroupHoldParked");
    const silenced = Template.fromStack(
      build({ holdGroupOnDeadLetter: true }, { consumerAlarms: { groupHeld: false } }).stack,
    );
    expect(Object.keys(alarmsOf(silenced)).filter((n) => n.includes("group-held"))).toEqual([]);
  });
});
