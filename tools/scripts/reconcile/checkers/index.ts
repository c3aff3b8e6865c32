/**
 * The registry of checkers: the one place a resource type becomes inspected. Teaching the
 * reconciler a new service is one file in this folder exporting a `ResourceChecker`, listed here.
 */
import type { ResourceChecker } from "../check.js";
import { cloudwatchAlarm } from "./cloudwatch-alarm.js";
import { dynamodbTable } from "./dynamodb-table.js";
import { eventSourceMapping } from "./event-source-mapping.js";
import { eventsRule } from "./events-rule.js";
import { schedule } from "./schedule.js";
import { snsTopic } from "./sns-topic.js";
import { sqsQueue } from "./sqs-queue.js";
import { stateMachine } from "./state-machine.js";

export const CHECKERS: readonly ResourceChecker[] = [
  sqsQueue,
  dynamodbTable,
  eventSourceMapping,
  schedule,
  stateMachine,
  eventsRule,
  snsTopic,
  cloudwatchAlarm,
];

/** Looks checkers up by resource type; two for one type would leave one silently unused. */
export function checkerRegistry(
  checkers: readonly ResourceChecker[],
): (type: string) => ResourceChecker | undefined {
  const byType = new Map<string, ResourceChecker>();
  for (const checker of checkers) {
    if (byType.has(checker.type)) throw new Error(`two reconcile checkers for ${checker.type}`);
    byType.set(checker.type, checker);
  }
  return (type) => byType.get(type);
}

/** The checker for a CloudFormation resource type, or undefined when none inspects it. */
export const checkerFor = checkerRegistry(CHECKERS);
