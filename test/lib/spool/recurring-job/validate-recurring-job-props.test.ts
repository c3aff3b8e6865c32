import { Duration, Stack } from "aws-cdk-lib";
import { ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, it } from "vitest";
import { RecurringJob, RecurringJobTarget } from "../../../../lib/spool/recurring-job/index.js";
import { expectRefusal } from "../../../helpers/errors.js";
import { templateApp } from "../../../helpers/template-app.js";

describe("RecurringJob validation names the construct", () => {
  it("of two jobs, names the one refused, its prop and the value", () => {
    const stack = new Stack(templateApp(), "Stack");
    const target = RecurringJobTarget.queue({
      queue: new Queue(stack, "Jobs"),
      deadLetterQueue: new Queue(stack, "JobsDlq"),
      fifo: false,
    });
    const schedule = ScheduleExpression.rate(Duration.hours(1));
    new RecurringJob(stack, "Hourly", { jobName: "hourly", schedule, target });
    expectRefusal(
      () =>
        new RecurringJob(stack, "Daily", {
          jobName: "daily",
          schedule,
          target,
          maxLateness: Duration.seconds(30),
        }),
      "Stack/Daily",
      "maxLateness must be at least 60 s, got 30 s",
    );
  });

  it("refuses a scheduleName Scheduler would refuse", () => {
    const stack = new Stack(templateApp(), "Stack");
    const target = RecurringJobTarget.queue({
      queue: new Queue(stack, "Jobs"),
      deadLetterQueue: new Queue(stack, "JobsDlq"),
      fifo: false,
    });
    const schedule = ScheduleExpression.rate(Duration.hours(1));
    expectRefusal(
      () =>
        new RecurringJob(stack, "Daily", {
          jobName: "daily",
          schedule,
          target,
          scheduleName: "daily job",
        }),
      "Stack/Daily",
      'scheduleName must be 1–64 letters, digits, hyphens, underscores or dots, got "daily job"',
    );
  });
});
