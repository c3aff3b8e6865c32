import { Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { EventBus } from "aws-cdk-lib/aws-events";
import { describe, expect, it } from "vitest";
import {
  SPOOL_EVENT_ARCHIVE_PATTERN,
  TransactionalOutbox,
  type TransactionalOutboxProps,
} from "../../../../lib/spool/transactional-outbox/index.js";
import { expectRefusal } from "../../../helpers/errors.js";
import { templateApp } from "../../../helpers/template-app.js";

function build(props: Partial<TransactionalOutboxProps> = {}) {
  const stack = new Stack(templateApp(), "Test", {
    env: { account: "111111111111", region: "eu-west-1" },
  });
  const eventBus = new EventBus(stack, "Bus", { eventBusName: "orders" });
  const outbox = new TransactionalOutbox(stack, "Outbox", { eventBus, ...props });
  return { stack, eventBus, outbox, template: Template.fromStack(stack) };
}

describe("TransactionalOutbox archive", () => {
  it("declares no archive by default", () => {
    const { outbox, template } = build();
    expect(outbox.archive).toBeUndefined();
    template.resourceCountIs("AWS::Events::Archive", 0);
  });

  it("with archiveRetention, archives Spool's envelopes on the bus for that many days", () => {
    const { stack, eventBus, outbox, template } = build({ archiveRetention: Duration.days(30) });
    expect(outbox.archive).toBeDefined();
    template.resourceCountIs("AWS::Events::Archive", 1);
    template.hasResourceProperties("AWS::Events::Archive", {
      SourceArn: {
        "Fn::GetAtt": [stack.getLogicalId(eventBus.node.defaultChild as never), "Arn"],
      },
      RetentionDays: 30,
      EventPattern: {
        detail: { id: [{ exists: true }], schemaVersion: [{ exists: true }] },
      },
    });
    expect(SPOOL_EVENT_ARCHIVE_PATTERN.detail).toEqual({
      id: [{ exists: true }],
      schemaVersion: [{ exists: true }],
    });
  });

  it("takes another event pattern", () => {
    const { template } = build({
      archiveRetention: Duration.days(1),
      archiveEventPattern: { source: ["spool.checkout"] },
    });
    template.hasResourceProperties("AWS::Events::Archive", {
      RetentionDays: 1,
      EventPattern: { source: ["spool.checkout"] },
    });
  });

  it.each([
    [Duration.days(0), "0 days (0 s)"],
    [Duration.hours(12), "0.5 days (43200 s)"],
    [Duration.hours(36), "1.5 days (129600 s)"],
  ])("refuses archiveRetention %s, naming the path, the prop and the value", (retention, got) => {
    expectRefusal(
      () => build({ archiveRetention: retention }),
      "Test/Outbox",
      `archiveRetention must be a whole number of days, at least 1, got ${got}`,
    );
  });

  it("refuses an archive pattern without an archive", () => {
    expectRefusal(
      () => build({ archiveEventPattern: { source: ["x"] } }),
      "Test/Outbox",
      'archiveEventPattern needs archiveRetention (the archive it filters), got {"source":["x"]} without it',
    );
  });
});
