/** EventBridge rules: the event pattern and each target, restored with PutRule and PutTargets. */
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from "@aws-sdk/client-eventbridge";
import type { Check, Props, ResourceChecker } from "../check.js";

/** The target fields Spool relies on: where events go, in what shape, and where failures go. */
const TARGET_FIELDS = [
  "Arn",
  "Input",
  "InputPath",
  "DeadLetterConfig",
  "RetryPolicy",
  "SqsParameters",
];

function ruleChecks(events: EventBridgeClient, physicalId: string, props: Props): Check[] {
  // CloudFormation names a rule on a custom bus "bus|rule"; some emulators give the bare name.
  const name = physicalId.split("|").pop() as string;
  const eventBusName = props.EventBusName as string | undefined;
  const where = { ...(eventBusName ? { EventBusName: eventBusName } : {}) };
  const checks: Check[] = [];
  if (props.EventPattern !== undefined) {
    checks.push({
      property: "EventPattern",
      declared: props.EventPattern,
      observe: async () =>
        (await events.send(new DescribeRuleCommand({ Name: name, ...where }))).EventPattern,
      fix: () =>
        events.send(
          new PutRuleCommand({
            Name: name,
            ...where,
            EventPattern: JSON.stringify(props.EventPattern),
          }),
        ),
    });
  }
  const pick = (target: Record<string, unknown> | undefined) =>
    target
      ? Object.fromEntries(
          TARGET_FIELDS.filter((f) => target[f] !== undefined).map((f) => [f, target[f]]),
        )
      : undefined;
  for (const declared of (props.Targets ?? []) as Record<string, unknown>[]) {
    checks.push({
      property: `Targets[${String(declared.Id)}]`,
      declared: pick(declared),
      observe: async () => {
        const { Targets = [] } = await events.send(
          new ListTargetsByRuleCommand({ Rule: name, ...where }),
        );
        return pick(
          Targets.find((t) => t.Id === declared.Id) as Record<string, unknown> | undefined,
        );
      },
      fix: () =>
        events.send(
          new PutTargetsCommand({ Rule: name, ...where, Targets: [declared as unknown as Target] }),
        ),
    });
  }
  return checks;
}

export const eventsRule: ResourceChecker = {
  type: "AWS::Events::Rule",
  connect: (config) => {
    const events = new EventBridgeClient(config);
    return (physicalId, props) => ruleChecks(events, physicalId, props);
  },
};
