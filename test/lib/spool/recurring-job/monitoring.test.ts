import { Duration, TimeZone } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { ScheduleExpression, ScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import { Construct } from "constructs";
import { describe, expect, it } from "vitest";
import { RecurringJob, RecurringJobTarget } from "../../../../lib/spool/recurring-job/index.js";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import {
  alarms,
  alarmsOnMetric,
  dashboardBody,
  monitoringWithKinds,
  newStack,
} from "../../../helpers/spool-monitoring.js";

function nightly(scope: Construct, target: ReliableQueue, id: string, jobName: string) {
  return new RecurringJob(scope, id, {
    jobName,
    schedule: ScheduleExpression.cron({ minute: "0", hour: "2", timeZone: TimeZone.EUROPE_BERLIN }),
    target: RecurringJobTarget.queue(target),
    scheduleGroup: (scope.node.tryFindChild("Group") as ScheduleGroup | undefined) ?? undefined,
  });
}

describe("recurring-job kind", () => {
  function jobsStack(options: { queueAlarms?: boolean } = {}) {
    const stack = newStack();
    const monitoring = monitoringWithKinds(stack);
    // The jobs live in a subtree that comes before their queue: discovery order must not decide
    // which alarm a shared condition is named after.
    const early = new Construct(stack, "Early");
    new ScheduleGroup(early, "Group");
    const queue = new ReliableQueue(stack, "Jobs");
    if (options.queueAlarms === false) monitoring.monitor(queue, { alarms: false });
    const jobs = [
      nightly(early, queue, "Nightly", "nightly-reconciliation"),
      nightly(early, queue, "Weekly", "weekly-report"),
    ];
    return { stack, queue, jobs, template: Template.fromStack(stack) };
  }

  it("pages once for a dead letter of the shared target queue: the queue's alarm, reused", () => {
    const { template } = jobsStack();
    const onVisible = alarmsOnMetric(template, "ApproximateNumberOfMessagesVisible").filter(
      (a) => a.Threshold === 0,
    );
    expect(onVisible.map((a) => a.AlarmName)).toEqual(["Ops-queue-jobs-dead-letters"]);
    expect(
      alarms(template).filter((a) => String(a.AlarmName).startsWith("Ops-recurring-job-")),
    ).toHaveLength(1);
  });

  it("alarms once per schedule group when the Scheduler could not dead-letter a run", () => {
    const { template, jobs } = jobsStack();
    const lost = alarmsOnMetric(template, "InvocationsFailedToBeSentToDeadLetterCount");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({
      Namespace: "AWS/Scheduler",
      Dimensions: [{ Name: "ScheduleGroup", Value: jobs[0]?.scheduleGroupName }],
      AlarmName: "Ops-recurring-job-nightly-reconciliation-dead-letter-failures",
    });
  });

  it("alarms on the target queue's DLQ itself when the queue's own alarms are off", () => {
    const { template, queue, stack } = jobsStack({ queueAlarms: false });
    const onDlq = alarmsOnMetric(template, "ApproximateNumberOfMessagesVisible");
    expect(onDlq.map((a) => a.AlarmName)).toEqual([
      "Ops-recurring-job-nightly-reconciliation-target-failures",
    ]);
    expect(onDlq[0]?.Dimensions).toEqual([
      {
        Name: "QueueName",
        Value: {
          "Fn::GetAtt": [
            stack.getLogicalId(queue.deadLetterQueue.node.defaultChild as never),
            "QueueName",
          ],
        },
      },
    ]);
  });

  it("draws a Recurring jobs section with a row per job, named by job name", () => {
    const body = dashboardBody(jobsStack().template);
    expect(body).toContain("## Recurring jobs");
    expect(body).toContain("nightly-reconciliation: undelivered runs");
    expect(body).toContain("weekly-report: schedule group");
  });

  it("defaults the schedule group to the account's default group", () => {
    const stack = newStack();
    monitoringWithKinds(stack);
    const queue = new ReliableQueue(stack, "Jobs");
    new RecurringJob(stack, "Hourly", {
      jobName: "hourly",
      schedule: ScheduleExpression.rate(Duration.hours(1)),
      target: RecurringJobTarget.queue(queue),
    });
    expect(
      alarmsOnMetric(Template.fromStack(stack), "InvocationsFailedToBeSentToDeadLetterCount")[0]
        ?.Dimensions,
    ).toEqual([{ Name: "ScheduleGroup", Value: "default" }]);
  });
});
