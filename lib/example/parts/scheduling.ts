import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, TimeZone } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { ScheduleExpression, ScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import { Construct } from "constructs";
import { DelayedTasks } from "../../spool/delayed-tasks/index.js";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import { PayloadStore } from "../../spool/payload-store/index.js";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import {
  JobRunsTable,
  OverlapPolicy,
  RecurringJob,
  RecurringJobTarget,
} from "../../spool/recurring-job/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";
import type { Messaging } from "./messaging.js";

export interface SchedulingProps {
  readonly messaging: Messaging;
  readonly idempotencyTable: IdempotencyTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
  /** Adds the every-minute heartbeat job and short reminder delays for tests. */
  readonly testHooks: boolean;
}

/**
 * Time in the order domain: an abandoned-cart reminder (a delayed task scheduled when an order
 * is placed, cancelled when it is paid, shipped or cancelled) and a nightly reconciliation
 * (a recurring job at 02:00 Europe/Berlin whose runs are recorded and deduplicated by run key).
 */
export class Scheduling extends Construct {
  readonly tasks: DelayedTasks;
  /** Where task messages too large to send inline go (DelayedTasks' claim-check). */
  readonly taskPayloads: PayloadStore;
  readonly cartReminders: ReliableQueue;
  readonly cartRemindersConsumer: QueueConsumer;
  /** Test hooks only: a task target whose consumer records a hash of each payload it gets. */
  readonly largeTasks: ReliableQueue | undefined;
  readonly largeTasksConsumer: QueueConsumer | undefined;
  readonly jobs: ReliableQueue;
  readonly jobsWorker: QueueConsumer;
  readonly runs: JobRunsTable;
  readonly nightlyReconciliation: RecurringJob;
  readonly heartbeat: RecurringJob | undefined;
  readonly overlapProbe: RecurringJob | undefined;

  constructor(scope: Construct, id: string, props: SchedulingProps) {
    super(scope, id);
    const queueVisibility = Duration.seconds(props.consumerTimeout.toSeconds() * 6);
    const environment = {
      ...props.handlerEnvironment,
      EFFECTS_TABLE: props.effectsTable.tableName,
    };

    // Delayed tasks: the reminder queue and its consumer.
    this.cartReminders = new ReliableQueue(this, "CartReminders", {
      visibilityTimeout: queueVisibility,
    });
    this.largeTasks = props.testHooks
      ? new ReliableQueue(this, "LargeTasks", { visibilityTimeout: queueVisibility })
      : undefined;
    // A reminder is due a day after its order; two days is the furthest any task is scheduled.
    const maxDelay = Duration.days(2);
    const taskRetention = Duration.days(30);
    const targets = [this.cartReminders, ...(this.largeTasks ? [this.largeTasks] : [])];
    // Task messages over 256 KiB go to this store. Its objects must outlive every task that may
    // still be delivered: maxDelay + taskRetention (DelayedTasks checks it), and the queues' own
    // retention + DLQ retention (PayloadStore checks that).
    this.taskPayloads = new PayloadStore(this, "TaskPayloads", {
      queues: targets,
      expiration: Duration.days(maxDelay.toDays() + taskRetention.toDays() + 1),
    });
    this.tasks = new DelayedTasks(this, "Tasks", {
      targets: targets.map((t) => t.queue),
      maxDelay,
      taskRetention,
      payloadStore: this.taskPayloads,
    });
    this.cartRemindersConsumer = new QueueConsumer(this, "CartRemindersConsumer", {
      source: this.cartReminders,
      entry: lambdaEntry("cart-reminders/handler.ts"),
      consumerName: "cart-reminders",
      idempotencyTable: props.idempotencyTable.table,
      // Resolves the pointer of a task whose message went through the store.
      payloadStore: this.taskPayloads,
      timeout: props.consumerTimeout,
      backoff: props.backoff,
      environment,
    });
    this.tasks.grantDelivery(this.cartRemindersConsumer.function, this.cartReminders.queue);
    this.largeTasksConsumer = this.largeTasks
      ? new QueueConsumer(this, "LargeTasksConsumer", {
          source: this.largeTasks,
          entry: lambdaEntry("large-tasks/handler.ts"),
          consumerName: "large-tasks",
          idempotencyTable: props.idempotencyTable.table,
          payloadStore: this.taskPayloads,
          timeout: props.consumerTimeout,
          backoff: props.backoff,
          environment,
        })
      : undefined;
    if (this.largeTasks && this.largeTasksConsumer) {
      this.tasks.grantDelivery(this.largeTasksConsumer.function, this.largeTasks.queue);
      props.effectsTable.grant(this.largeTasksConsumer.function, "dynamodb:UpdateItem");
    }
    props.effectsTable.grant(
      this.cartRemindersConsumer.function,
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );

    // The order consumer schedules the reminder on OrderPlaced and cancels it afterwards.
    const orderConsumer = props.messaging.orderEventsConsumer.function;
    this.tasks.grantScheduling(orderConsumer);
    orderConsumer.addEnvironment("CART_REMINDER_TARGET", this.cartReminders.queue.queueArn);
    // A day in production (a one-time schedule); seconds in tests (an SQS delay).
    orderConsumer.addEnvironment(
      "CART_REMINDER_DELAY_SECONDS",
      String(props.testHooks ? 10 : Duration.hours(24).toSeconds()),
    );

    // Recurring jobs: one queue and one worker for the domain's jobs.
    this.jobs = new ReliableQueue(this, "Jobs", { visibilityTimeout: queueVisibility });
    this.runs = new JobRunsTable(this, "Runs");
    // It holds only the schedules this stack creates, so nothing is lost when it goes; CDK's
    // default (retain) would leave its fixed name behind and fail the next deploy.
    const group = new ScheduleGroup(this, "JobsGroup", { removalPolicy: RemovalPolicy.DESTROY });
    this.nightlyReconciliation = new RecurringJob(this, "NightlyReconciliation", {
      jobName: "nightly-reconciliation",
      schedule: ScheduleExpression.cron({
        minute: "0",
        hour: "2",
        timeZone: TimeZone.EUROPE_BERLIN,
      }),
      target: RecurringJobTarget.queue(this.jobs),
      // The report is read when the business day starts; after 08:00 the next night covers it.
      maxLateness: Duration.hours(6),
      flexibleWindow: Duration.minutes(15),
      overlap: OverlapPolicy.SKIP_IF_RUNNING,
      maxRunDuration: Duration.minutes(10),
      runsTable: this.runs.table,
      scheduleGroup: group,
    });
    this.heartbeat = props.testHooks
      ? new RecurringJob(this, "Heartbeat", {
          jobName: "heartbeat",
          schedule: ScheduleExpression.expression("cron(* * * * ? *)", TimeZone.EUROPE_BERLIN),
          target: RecurringJobTarget.queue(this.jobs),
          maxLateness: Duration.minutes(10),
          maxRunDuration: Duration.minutes(1),
          runsTable: this.runs.table,
          scheduleGroup: group,
        })
      : undefined;
    // Test hooks: a disabled job the tests drive by hand to watch the overlap policy.
    this.overlapProbe = props.testHooks
      ? new RecurringJob(this, "OverlapProbe", {
          jobName: "overlap-probe",
          schedule: ScheduleExpression.rate(Duration.hours(1)),
          target: RecurringJobTarget.queue(this.jobs),
          enabled: false,
          maxLateness: Duration.minutes(10),
          overlap: OverlapPolicy.SKIP_IF_RUNNING,
          maxRunDuration: Duration.minutes(1),
          runsTable: this.runs.table,
          scheduleGroup: group,
        })
      : undefined;

    this.jobsWorker = new QueueConsumer(this, "JobsWorker", {
      source: this.jobs,
      entry: lambdaEntry("recurring-jobs/handler.ts"),
      consumerName: "recurring-jobs",
      timeout: props.consumerTimeout,
      backoff: props.backoff,
      environment,
    });
    Annotations.of(this.jobsWorker).acknowledgeWarning(
      "spool:consumerWithoutIdempotency",
      "the run key's conditional write in the runs table is this consumer's exactly-once boundary",
    );
    const jobs = [this.nightlyReconciliation, this.heartbeat, this.overlapProbe].filter(
      (j): j is RecurringJob => j !== undefined,
    );
    for (const job of jobs) job.bindWorker(this.jobsWorker.function);
    // The worker's `requeue`: a backfilled or manual run of a skip-if-running job that finds the
    // lock held is sent again, delayed, to the jobs queue (lambdas/recurring-jobs/handler.ts).
    this.jobs.queue.grantSendMessages(this.jobsWorker.function);
    props.effectsTable.grant(
      this.jobsWorker.function,
      "dynamodb:Scan",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );

    const stack = Stack.of(this);
    const out = (name: string, value: string) => new CfnOutput(scope, name, { value });
    out("CartRemindersQueueUrl", this.cartReminders.queue.queueUrl);
    out("CartRemindersQueueArn", this.cartReminders.queue.queueArn);
    out("CartRemindersDeadLetterQueueUrl", this.cartReminders.deadLetterQueue.queueUrl);
    out("CartRemindersFunctionName", this.cartRemindersConsumer.function.functionName);
    out("TasksTableName", this.tasks.table.tableName);
    out("TasksScheduleGroupName", this.tasks.scheduleGroup.scheduleGroupName);
    out("TasksDeadLetterQueueUrl", this.tasks.deadLetterQueue.queueUrl);
    out("DelayedTasksConfig", stack.toJsonString(this.tasks.runtimeConfig));
    out("TaskPayloadsBucketName", this.taskPayloads.bucketName);
    if (this.largeTasks) {
      out("LargeTasksQueueArn", this.largeTasks.queue.queueArn);
      out("LargeTasksQueueUrl", this.largeTasks.queue.queueUrl);
      out("LargeTasksDeadLetterQueueUrl", this.largeTasks.deadLetterQueue.queueUrl);
    }
    out("JobsQueueUrl", this.jobs.queue.queueUrl);
    out("JobsDeadLetterQueueUrl", this.jobs.deadLetterQueue.queueUrl);
    out("JobsFunctionName", this.jobsWorker.function.functionName);
    out("JobRunsTableName", this.runs.table.tableName);
    out(
      "RecurringJobs",
      stack.toJsonString(Object.fromEntries(jobs.map((j) => [j.jobName, j.definition]))),
    );
  }
}
