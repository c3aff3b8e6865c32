/**
 * A consumer's declared dependency breakers (`breakers`): validated at synth, and one alarm per
 * breaker on the metric circuit-breaker.ts publishes while it is open.
 */
import { fileURLToPath } from "node:url";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { IdempotencyTable } from "../../../../lib/spool/idempotency-table/index.js";
import {
  QueueConsumer,
  type QueueConsumerProps,
} from "../../../../lib/spool/queue-consumer/index.js";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import { expectRefusal } from "../../../helpers/errors.js";
import { alarmsOf, monitoredStack } from "../../../helpers/spool-monitoring.js";

const entry = fileURLToPath(new URL("../../../helpers/fixtures/noop-handler.ts", import.meta.url));

function build(props: Partial<QueueConsumerProps> & { withTable?: boolean }, monitoring = {}) {
  return monitoredStack(monitoring, (stack) => {
    const { withTable = true, ...rest } = props;
    const table = new IdempotencyTable(stack, "Idempotency");
    new QueueConsumer(stack, "Mailer", {
      source: new ReliableQueue(stack, "Mail"),
      entry,
      consumerName: "mailer",
      ...(withTable ? { idempotencyTable: table.table } : {}),
      ...rest,
    });
  });
}

describe("QueueConsumer breakers", () => {
  it("alarms per declared breaker while it is open (opened or rejecting in a minute)", () => {
    const { stack } = build({ breakers: ["email-provider", "sms"], serviceName: "mail" });
    const alarms = alarmsOf(Template.fromStack(stack));
    for (const name of ["email-provider", "sms"]) {
      expect(alarms[`Ops-consumer-mailer-breaker-open-${name}`]).toMatchObject({
        Namespace: "Spool",
        MetricName: "BreakerOpen",
        Statistic: "Sum",
        Period: 60,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
        // Powertools' dimensions: the service, the consumer's own default, the dependency.
        Dimensions: expect.arrayContaining([
          { Name: "service", Value: "mail" },
          { Name: "consumer", Value: "mailer" },
          { Name: "dependency", Value: name },
        ]),
      });
    }
  });

  it("has no breaker alarm without declared breakers, nor when breakerOpen is off", () => {
    const names = (stack: Parameters<typeof Template.fromStack>[0]) =>
      Object.keys(alarmsOf(Template.fromStack(stack))).filter((n) => n.includes("breaker"));
    expect(names(build({}).stack)).toEqual([]);
    const off = build({ breakers: ["sms"] }, { consumerAlarms: { breakerOpen: false } });
    expect(names(off.stack)).toEqual([]);
  });

  it.each([
    [
      ["has space"],
      'breakers[0] must be 1-128 letters, digits or _ . : - (the name given to dependencyBreaker), got "has space"',
    ],
    [
      ["ok", ""],
      'breakers[1] must be 1-128 letters, digits or _ . : - (the name given to dependencyBreaker), got ""',
    ],
    [["sms", "sms"], 'breakers must not repeat a name, got "sms" twice'],
  ])("refuses %j, naming the path, the prop and the value", (breakers, message) => {
    expectRefusal(() => build({ breakers }), "Ops/Mailer", message);
  });

  it("refuses breakers without an idempotency table to keep their state in", () => {
    expectRefusal(
      () => build({ breakers: ["sms"], withTable: false }),
      "Ops/Mailer",
      'breakers need idempotencyTable (each breaker\'s state is kept there), got breakers ["sms"] and no idempotencyTable',
    );
  });
});
