import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { DelayedTasks } from "../../../../lib/spool/delayed-tasks/index.js";
import { delayedTasksKind } from "../../../../lib/spool/delayed-tasks/monitoring.js";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import {
  alarmNamed,
  dashboardBody,
  monitoringWithKinds,
  newStack,
  topicRef,
} from "../../../helpers/spool-monitoring.js";

describe("delayed-tasks kind", () => {
  const stack = newStack();
  monitoringWithKinds(stack);
  const target = new ReliableQueue(stack, "CartReminders");
  const tasks = new DelayedTasks(stack, "Tasks", { targets: [target.queue] });
  const template = Template.fromStack(stack);
  const topic = topicRef(template);
  const group = tasks.scheduleGroup.scheduleGroupName;

  it("alarms when a task the Scheduler could not deliver reaches the dead-letter queue", () => {
    expect(alarmNamed(template, "Ops-delayed-tasks-tasks-target-failures")).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [
        {
          Name: "QueueName",
          Value: {
            "Fn::GetAtt": [
              stack.getLogicalId(tasks.deadLetterQueue.node.defaultChild as never),
              "QueueName",
            ],
          },
        },
      ],
      Statistic: "Maximum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 1,
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  it("alarms when the Scheduler could not even dead-letter a task of its group", () => {
    expect(alarmNamed(template, "Ops-delayed-tasks-tasks-dead-letter-failures")).toMatchObject({
      Namespace: "AWS/Scheduler",
      MetricName: "InvocationsFailedToBeSentToDeadLetterCount",
      Dimensions: [{ Name: "ScheduleGroup", Value: group }],
      Statistic: "Sum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [topic],
    });
  });

  it("draws a Delayed tasks section from the Scheduler's group metrics and the DLQ", () => {
    const body = dashboardBody(template);
    expect(body).toContain("## Delayed tasks");
    for (const text of [
      `tasks: one-time schedules (group ${group})`,
      "InvocationAttemptCount",
      "TargetErrorCount",
      "InvocationsSentToDeadLetterCount",
      "InvocationDroppedCount",
      "tasks: undelivered tasks",
    ]) {
      expect(body, text).toContain(text);
    }
  });

  it("names the option and the value it refuses", () => {
    expect(() => delayedTasksKind({ maxUndeliveredTasks: 1.5 })).toThrow(
      "delayedTasksAlarms.maxUndeliveredTasks must be an integer of at least 0, got 1.5",
    );
  });
});
