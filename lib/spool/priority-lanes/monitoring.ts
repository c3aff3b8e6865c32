import { Duration } from "aws-cdk-lib";
import { GraphWidget, type IMetric } from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import type { ResourceKind } from "../runtime/resource-kind.js";
import { PriorityLanes } from "./priority-lanes.js";

const MINUTE = Duration.minutes(1);

/**
 * Priority lanes: every PriorityLanes group in the stack, as one unit. Register it with
 * `monitoring.addKind(priorityLanesKind())`.
 *
 * Each lane's queue and consumer are already monitored on their own (their alarms, their rows in
 * the Queues and Consumers sections). What no single lane shows is the group's behaviour: whether
 * the high lane is served first while the low one still moves. So this kind adds one row per
 * group with every lane on the same graph, highest priority first, and no alarms of its own (a
 * lane in trouble pages through its queue's and consumer's alarms, named `<group>-<lane>`).
 */
export function priorityLanesKind(): ResourceKind<PriorityLanes> {
  return {
    name: "lanes",
    title: "Priority lanes",
    matches: (construct: IConstruct): construct is PriorityLanes =>
      construct instanceof PriorityLanes,
    nameOf: (lanes) => lanes.name,
    monitor(lanes, context) {
      const perLane = (metric: (lane: string) => IMetric): IMetric[] =>
        [...lanes.queues.keys()].map(metric);
      const queue = (lane: string) => lanes.queueOf(lane).queue;
      context.addWidgets(
        new GraphWidget({
          title: `${context.name}: waiting per lane`,
          left: perLane((lane) =>
            queue(lane).metricApproximateNumberOfMessagesVisible({
              statistic: "Maximum",
              period: MINUTE,
              label: lane,
            }),
          ),
          width: 6,
        }),
        new GraphWidget({
          title: `${context.name}: oldest message per lane (s)`,
          left: perLane((lane) =>
            queue(lane).metricApproximateAgeOfOldestMessage({
              statistic: "Maximum",
              period: MINUTE,
              label: lane,
            }),
          ),
          width: 6,
        }),
        new GraphWidget({
          title: `${context.name}: processed per lane`,
          left: perLane((lane) =>
            queue(lane).metricNumberOfMessagesDeleted({
              statistic: "Sum",
              period: MINUTE,
              label: lane,
            }),
          ),
          width: 6,
        }),
        new GraphWidget({
          title: `${context.name}: running per lane (of its share)`,
          left: perLane((lane) =>
            lanes.consumerOf(lane).function.metric("ConcurrentExecutions", {
              statistic: "Maximum",
              period: MINUTE,
              label: `${lane} (share ${lanes.shareOf(lane)})`,
            }),
          ),
          width: 6,
        }),
      );
    },
  };
}
