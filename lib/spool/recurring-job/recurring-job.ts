import { createHash } from "node:crypto";
import { Duration, Lazy, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import { AttributeType, BillingMode, type ITable, Table } from "aws-cdk-lib/aws-dynamodb";
import { type Grant, Grant as IamGrant, type IGrantable } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import {
  ContextAttribute,
  type IScheduleGroup,
  type IScheduleTarget,
  Schedule,
  type ScheduleExpression,
  ScheduleTargetInput,
  TimeWindow,
} from "aws-cdk-lib/aws-scheduler";
import { SqsSendMessage } from "aws-cdk-lib/aws-scheduler-targets";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { invalid } from "../runtime/validation.js";
import { requireEnvironmentWithinLimit } from "../spool-function/environment-size.js";
import { JOBS_ENV, type JobDefinition, RUN_MESSAGE_KIND } from "./contract.js";
import { validateRecurringJobProps } from "./validate-recurring-job-props.js";

export enum OverlapPolicy {
  /** Every run starts, even while the previous one is still running. */
  ALLOW = "allow",
  /** A run that starts while another run of the job holds the job's lock is recorded SKIPPED. */
  SKIP_IF_RUNNING = "skip-if-running",
}

/** A queue and its dead-letter queue; a ReliableQueue satisfies it. */
export interface JobQueue {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly fifo: boolean;
}

/** How the Scheduler's delivery to a target is bounded; filled in by the RecurringJob. */
export interface RecurringJobTargetBinding {
  readonly input: ScheduleTargetInput;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

/**
 * Where a recurring job's runs go. Today a Spool queue; a state machine target can be added as
 * another factory without changing RecurringJob (it only calls `bind`).
 */
export abstract class RecurringJobTarget {
  /**
   * Runs are sent to `target.queue`; a run the Scheduler cannot deliver goes to its dead-letter
   * queue. A FIFO queue needs `messageGroupId` and content-based deduplication.
   */
  static queue(target: JobQueue, options: { messageGroupId?: string } = {}): RecurringJobTarget {
    return new QueueTarget(target, options.messageGroupId);
  }

  /** The queue ARN backfills send runs to. */
  abstract readonly queueArn: string;
  /** Where the Scheduler sends a run it could not deliver. */
  abstract readonly deadLetterQueue: IQueue;
  abstract bind(job: RecurringJob, binding: RecurringJobTargetBinding): IScheduleTarget;
}

class QueueTarget extends RecurringJobTarget {
  readonly queueArn: string;
  readonly deadLetterQueue: IQueue;

  constructor(
    private readonly target: JobQueue,
    private readonly messageGroupId: string | undefined,
  ) {
    super();
    this.queueArn = target.queue.queueArn;
    this.deadLetterQueue = target.deadLetterQueue;
  }

  bind(job: RecurringJob, binding: RecurringJobTargetBinding): IScheduleTarget {
    if (this.target.fifo && !this.messageGroupId) {
      invalid(
        job,
        `target: a FIFO queue needs messageGroupId (RecurringJobTarget.queue(q, { messageGroupId })), got none for job ${job.jobName}`,
      );
    }
    if (!this.target.fifo && this.messageGroupId) {
      invalid(
        job,
        `target: messageGroupId needs a FIFO queue, got "${this.messageGroupId}" for job ${job.jobName}`,
      );
    }
    // SqsSendMessage itself refuses a FIFO queue without content-based deduplication: the
    // Scheduler sends no deduplication id.
    return new SqsSendMessage(this.target.queue, {
      input: binding.input,
      deadLetterQueue: this.target.deadLetterQueue,
      retryAttempts: binding.retryAttempts,
      maxEventAge: binding.maxEventAge,
      ...(this.messageGroupId ? { messageGroupId: this.messageGroupId } : {}),
    });
  }
}

export interface RecurringJobProps {
  /** The job's name: its run keys are `<jobName>@<scheduled time>`. */
  readonly jobName: string;
  /**
   * `ScheduleExpression.cron({ ..., timeZone })`, `.expression("cron(...)", timeZone)` or
   * `.rate(...)`. One-time `at()` expressions are for delayed tasks, not jobs.
   */
  readonly schedule: ScheduleExpression;
  /** Where runs are delivered. */
  readonly target: RecurringJobTarget;
  /**
   * Let the Scheduler start a run anywhere within this window after its time (spreads load).
   * @default - off: runs start at their scheduled time
   */
  readonly flexibleWindow?: Duration;
  /**
   * A run that starts later than this after its scheduled time is recorded SKIPPED ("too late to be
   * useful"), live or backfilled, unless a backfill overrides it.
   * @default Duration.hours(1)
   */
  readonly maxLateness?: Duration;
  /**
   * What happens when a run starts while another run of this job is still running.
   * @default OverlapPolicy.ALLOW
   */
  readonly overlap?: OverlapPolicy;
  /**
   * The longest a run may take: after this its claim (and the overlap lock) may be taken over by a
   * redelivery, as the worker is presumed dead. Keep it above the worker's timeout.
   * @default Duration.minutes(15)
   */
  readonly maxRunDuration?: Duration;
  /**
   * How often the Scheduler retries a failed delivery (0–185).
   * @default 185
   */
  readonly retryAttempts?: number;
  /**
   * How long the Scheduler keeps retrying a delivery (60 s – 24 h).
   * @default - the max lateness, within 60 s – 24 h: a later delivery would be skipped anyway
   */
  readonly maxEventAge?: Duration;
  /**
   * Table for run records and the overlap lock; share one between jobs.
   * @default - a new JobRunsTable
   */
  readonly runsTable?: ITable;
  /**
   * How long run records are kept (the run history). Must exceed the max lateness, or an expired
   * record would let a very late duplicate run again.
   * @default Duration.days(90)
   */
  readonly runRetention?: Duration;
  /**
   * The schedule group.
   * @default - the account's default group
   */
  readonly scheduleGroup?: IScheduleGroup;
  /**
   * The schedule's name, unique in its group (`[A-Za-z0-9_.-]{1,64}`).
   * @default - the job's name in a group you give; in the account's `default` group, which every
   * stack of the account shares, `<stack name>-<job name>` (shortened with a hash past 64 characters)
   */
  readonly scheduleName?: string;
  /**
   * Fixed parameters every run receives (merged under those a manual run sends).
   * @default - none
   */
  readonly parameters?: Record<string, string | number | boolean>;
  /**
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The schedule's start: the first occurrence of a rate() job.
   * @default - the schedule's creation time
   */
  readonly start?: Date;
  /**
   * @default - none
   */
  readonly description?: string;
}

/** A table for run records: (pk = job#name, sk = run#time | lock), TTL, PITR, kept on delete. */
export class JobRunsTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: { removalPolicy?: RemovalPolicy } = {}) {
    super(scope, id);
    this.table = new Table(this, "Table", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      sortKey: { name: "sk", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "expiresAt",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
  }
}

/** Scheduler's limit on a schedule's name. */
const SCHEDULE_NAME_MAX = 64;

/**
 * A schedule name for the account's shared `default` group: the stack name keeps two stacks with
 * the same job apart. Past Scheduler's 64 characters the readable prefix is cut and 10 hex
 * characters of the full name's SHA-256 keep it unique.
 */
export function defaultGroupScheduleName(stackName: string, jobName: string): string {
  const full = `${stackName}-${jobName}`;
  if (full.length <= SCHEDULE_NAME_MAX) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 10);
  return `${full.slice(0, SCHEDULE_NAME_MAX - hash.length - 1)}-${hash}`;
}

const workerJobs = new WeakMap<LambdaFunction, RecurringJob[]>();

/**
 * A recurring job on EventBridge Scheduler: cron or rate in a time zone, retry policy and DLQ,
 * delivering a run message (job name + `<aws.scheduler.scheduled-time>`) to a Spool queue. The
 * worker that consumes the queue runs each run through `runRecurringJob`, which records the run
 * key with a conditional write before the effect: a duplicate delivery has no second effect.
 */
export class RecurringJob extends Construct {
  readonly jobName: string;
  readonly schedule: Schedule;
  readonly runsTable: ITable;
  /**
   * Where the Scheduler sends a run it could not deliver to the target (after its retries): the
   * target queue's dead-letter queue.
   */
  readonly deadLetterQueue: IQueue;
  /** The schedule group the job's schedule is in (`default` unless `scheduleGroup` was given). */
  readonly scheduleGroupName: string;
  /** The schedule's name in its group. */
  readonly scheduleName: string;
  /** What the worker and the backfill need to know of this job (tokens resolved at deploy). */
  readonly definition: JobDefinition;

  constructor(scope: Construct, id: string, props: RecurringJobProps) {
    super(scope, id);
    const maxLateness = props.maxLateness ?? Duration.hours(1);
    const maxRunDuration = props.maxRunDuration ?? Duration.minutes(15);
    const runRetention = props.runRetention ?? Duration.days(90);
    const retryAttempts = props.retryAttempts ?? 185;
    const maxEventAge =
      props.maxEventAge ??
      Duration.seconds(Math.min(86_400, Math.max(60, maxLateness.toSeconds())));
    const timeZone = props.schedule.timeZone?.timezoneName ?? "UTC";
    validateRecurringJobProps(this, props, {
      maxLateness,
      maxRunDuration,
      runRetention,
      retryAttempts,
      maxEventAge,
      timeZone,
    });
    this.jobName = props.jobName;
    this.deadLetterQueue = props.target.deadLetterQueue;
    this.scheduleGroupName = props.scheduleGroup?.scheduleGroupName ?? "default";
    this.scheduleName =
      props.scheduleName ??
      (props.scheduleGroup
        ? props.jobName
        : defaultGroupScheduleName(Stack.of(this).stackName, props.jobName));

    this.runsTable = props.runsTable ?? new JobRunsTable(this, "Runs").table;

    const input = ScheduleTargetInput.fromObject({
      kind: RUN_MESSAGE_KIND,
      schemaVersion: 1,
      job: props.jobName,
      scheduledTime: ContextAttribute.scheduledTime,
      executionId: ContextAttribute.executionId,
      source: "schedule",
    });
    this.schedule = new Schedule(this, "Schedule", {
      schedule: props.schedule,
      scheduleName: this.scheduleName,
      target: props.target.bind(this, { input, retryAttempts, maxEventAge }),
      ...(props.scheduleGroup ? { scheduleGroup: props.scheduleGroup } : {}),
      ...(props.flexibleWindow ? { timeWindow: TimeWindow.flexible(props.flexibleWindow) } : {}),
      enabled: props.enabled ?? true,
      ...(props.start ? { start: props.start } : {}),
      description: props.description ?? `Spool recurring job ${props.jobName}`,
    });

    this.definition = {
      name: props.jobName,
      schedule: props.schedule.expressionString,
      timeZone,
      maxLatenessSeconds: maxLateness.toSeconds(),
      overlap: props.overlap ?? OverlapPolicy.ALLOW,
      maxRunSeconds: maxRunDuration.toSeconds(),
      runsTable: this.runsTable.tableName,
      queueArn: props.target.queueArn,
      scheduleName: this.scheduleName,
      scheduleGroup: this.scheduleGroupName,
      ...(props.start ? { startDate: props.start.toISOString() } : {}),
      retentionSeconds: runRetention.toSeconds(),
      ...(props.parameters ? { parameters: props.parameters } : {}),
    };
  }

  /**
   * Makes `fn` this job's worker: it may record runs and the overlap lock in the runs table and
   * read its schedule (the rate() anchor), and finds the job's definition in its environment.
   * One worker may serve several jobs.
   */
  bindWorker(fn: LambdaFunction): void {
    let jobs = workerJobs.get(fn);
    if (!jobs) {
      const bound: RecurringJob[] = [];
      jobs = bound;
      workerJobs.set(fn, bound);
      fn.addEnvironment(
        JOBS_ENV,
        Lazy.string({
          produce: () =>
            Stack.of(fn).toJsonString(
              Object.fromEntries(bound.map((j) => [j.jobName, j.definition])),
            ),
        }),
      );
      // About 450 bytes per job: a worker that is not a SpoolFunction (which checks itself) is
      // held to Lambda's 4 KB here, at synth, and not by a failed deploy.
      fn.node.addValidation({
        validate: () => {
          requireEnvironmentWithinLimit(fn);
          return [];
        },
      });
    }
    if (jobs.some((j) => j.jobName === this.jobName && j !== this)) {
      invalid(this, `jobName must be unique per worker, got "${this.jobName}" twice`);
    }
    // A run's lease must outlast one attempt of the worker, or a second delivery could take
    // over a run that is still going.
    const timeout = fn.timeout;
    const maxRun = this.definition.maxRunSeconds;
    if (timeout && !timeout.isUnresolved() && !Token.isUnresolved(maxRun)) {
      if (maxRun <= timeout.toSeconds()) {
        invalid(
          this,
          `maxRunDuration must be longer than the worker's timeout (${timeout.toSeconds()} s), got ${maxRun} s`,
        );
      }
    }
    jobs.push(this);
    this.runsTable.grant(
      fn,
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
    );
    IamGrant.addToPrincipal({
      grantee: fn,
      actions: ["scheduler:GetSchedule"],
      resourceArns: [this.schedule.scheduleArn],
    });
  }

  /** Lets an operator tool read the run history (`listRuns`). */
  grantReadRuns(grantee: IGrantable): Grant {
    return this.runsTable.grant(grantee, "dynamodb:GetItem", "dynamodb:Query");
  }

  /** Lets a backfill tool record runs and read the schedule (the queue grant is the caller's). */
  grantBackfill(grantee: IGrantable): Grant {
    IamGrant.addToPrincipal({
      grantee,
      actions: ["scheduler:GetSchedule"],
      resourceArns: [this.schedule.scheduleArn],
    });
    return this.runsTable.grant(grantee, "dynamodb:GetItem", "dynamodb:PutItem");
  }
}
