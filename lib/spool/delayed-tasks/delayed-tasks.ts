import { Duration, Lazy, Names, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table } from "aws-cdk-lib/aws-dynamodb";
import {
  type Grant,
  Grant as IamGrant,
  type IGrantable,
  type IRole,
  Role,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { ScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import { CfnQueue, type IQueue, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";
import type { PayloadStore } from "../payload-store/index.js";
import { invalid, requireInteger, requireName, requireSeconds } from "../runtime/validation.js";
import {
  acknowledgeDeadLetterQueue,
  acknowledgeWildcardResources,
  onlyActions,
} from "../spool-function/index.js";
import {
  DEFAULT_TASK_OFFLOAD_THRESHOLD_BYTES,
  MAX_TASK_DELAY_SECONDS,
  TASK_EXPIRY_ATTRIBUTE,
  TASK_KEY_ATTRIBUTE,
  TASKS_ENV,
  type TasksConfig,
} from "./contract.js";
import { requireDeliveryReadsStore, validatePayloadProps } from "./task-payloads.js";

export interface DelayedTasksProps {
  /**
   * The queues tasks may be delivered to. The Scheduler's role may send to these and nothing
   * else; the runtime refuses any other target. More can be added with `addTarget`.
   * @default - none: add them with addTarget
   */
  readonly targets?: IQueue[];
  /**
   * Name of the schedule group that holds the one-time schedules.
   * @default - a name unique to this construct's path
   */
  readonly scheduleGroupName?: string;
  /**
   * How often the Scheduler retries a failed delivery to the target (0–185).
   * @default 185
   */
  readonly retryAttempts?: number;
  /**
   * How long the Scheduler keeps retrying a delivery (60 s – 24 h); then it goes to the DLQ.
   * @default Duration.hours(24)
   */
  readonly maxEventAge?: Duration;
  /**
   * Where the Scheduler sends a task it could not deliver to its target.
   * @default - a new encrypted, TLS-only queue keeping messages 14 days
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * How long a task record is kept after its due time. Until then its key cannot be reused and a
   * late duplicate delivery is recognised.
   * @default Duration.days(30)
   */
  readonly taskRetention?: Duration;
  /**
   * What happens to the tasks table when the stack is deleted.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How far ahead a task may be due (1 s – 365 days); `scheduleTask` refuses a later one
   * (TASK_DELAY_TOO_LONG). With a `payloadStore`, the store's objects must outlive
   * `maxDelay + taskRetention`.
   * @default Duration.days(365)
   */
  readonly maxDelay?: Duration;
  /**
   * Where a task message too large to send inline goes (the claim-check): the message is
   * written to the store and travels as a pointer, on either route, and the task record keeps the
   * pointer instead of the payload. `grantScheduling` adds s3:PutObject on the store's Spool keys;
   * `grantDelivery` adds s3:GetObject (and s3:ListBucket) and requires the consumer to resolve the
   * store's pointers (QueueConsumer's `payloadStore`). The store's `expiration` must be longer
   * than `maxDelay + taskRetention`.
   * @default - none: a task message over 256 KiB is refused (TASK_PAYLOAD_TOO_LARGE)
   */
  readonly payloadStore?: PayloadStore;
  /**
   * With `payloadStore`: task messages above this many bytes (UTF-8 JSON) are offloaded (0
   * offloads every task; at most 262,144, the Scheduler's input limit).
   * @default 262,144: only what could not be sent inline
   */
  readonly offloadThresholdBytes?: number;
}

/**
 * Delayed tasks: a tasks table (key → status, payload hash, due time), a schedule group for the
 * one-time schedules, the Scheduler's execution role (send to the targets and the DLQ, nothing
 * else) and a dead-letter queue. Functions get exactly what they need with `grantScheduling`
 * (schedule and cancel) and `grantDelivery` (consume tasks).
 */
export class DelayedTasks extends Construct {
  readonly table: Table;
  readonly scheduleGroup: ScheduleGroup;
  readonly schedulerRole: IRole;
  readonly deadLetterQueue: IQueue;
  private readonly targets: IQueue[] = [];
  private readonly retryAttempts: number;
  private readonly maxEventAge: Duration;
  private readonly taskRetention: Duration;
  private readonly maxDelay: Duration;
  /** Where large task messages go, if anywhere. */
  readonly payloadStore: PayloadStore | undefined;
  private readonly offloadThresholdBytes: number;

  constructor(scope: Construct, id: string, props: DelayedTasksProps = {}) {
    super(scope, id);
    this.retryAttempts = props.retryAttempts ?? 185;
    this.maxEventAge = props.maxEventAge ?? Duration.hours(24);
    this.taskRetention = props.taskRetention ?? Duration.days(30);
    this.maxDelay = props.maxDelay ?? Duration.seconds(MAX_TASK_DELAY_SECONDS);
    this.payloadStore = props.payloadStore;
    this.offloadThresholdBytes =
      props.offloadThresholdBytes ?? DEFAULT_TASK_OFFLOAD_THRESHOLD_BYTES;
    validate(this, props, this.retryAttempts, this.maxEventAge, this.taskRetention);
    requireSeconds(
      this,
      "maxDelay",
      this.maxDelay,
      1,
      MAX_TASK_DELAY_SECONDS,
      "whole seconds from 1 second to 365 days",
      { wholeSeconds: true },
    );
    validatePayloadProps(
      this,
      props.payloadStore,
      props.offloadThresholdBytes,
      this.maxDelay,
      this.taskRetention,
    );

    this.table = new Table(this, "Table", {
      partitionKey: { name: TASK_KEY_ATTRIBUTE, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TASK_EXPIRY_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });

    this.scheduleGroup = new ScheduleGroup(this, "Group", {
      scheduleGroupName:
        props.scheduleGroupName ??
        Names.uniqueResourceName(this, { maxLength: 64, separator: "-" }),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    if (props.deadLetterQueue) {
      this.deadLetterQueue = props.deadLetterQueue;
    } else {
      const deadLetterQueue = new Queue(this, "DeadLetterQueue", {
        retentionPeriod: Duration.days(14),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      acknowledgeDeadLetterQueue(deadLetterQueue, "tasks the Scheduler could not deliver");
      this.deadLetterQueue = deadLetterQueue;
    }

    this.schedulerRole = new Role(this, "SchedulerRole", {
      description: "EventBridge Scheduler delivering Spool delayed tasks",
      // The confused-deputy guard AWS recommends: only schedules of this group assume it.
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: {
          StringEquals: {
            "aws:SourceAccount": Stack.of(this).account,
            "aws:SourceArn": this.scheduleGroup.scheduleGroupArn,
          },
        },
      }),
    });
    this.deadLetterQueue.grantSendMessages(this.schedulerRole);
    for (const target of props.targets ?? []) this.addTarget(target);
  }

  /** Allows tasks to be delivered to `queue`. */
  addTarget(queue: IQueue): void {
    if (this.targets.includes(queue)) return;
    // The Scheduler sends to a FIFO queue without a deduplication id: the queue must make one.
    const cfn = queue.node.defaultChild as CfnQueue | undefined;
    if (queue.fifo && cfn instanceof CfnQueue && cfn.contentBasedDeduplication !== true) {
      if (!Token.isUnresolved(cfn.contentBasedDeduplication)) {
        invalid(
          this,
          `targets: a FIFO queue needs contentBasedDeduplication (the Scheduler sends no deduplication id), got ${queue.node.path} without it`,
        );
      }
    }
    this.targets.push(queue);
    queue.grantSendMessages(this.schedulerRole);
    for (const fn of this.schedulingFunctions) queue.grantSendMessages(fn);
    for (const fn of this.allTargetsDeliverers) queue.grantSendMessages(fn);
  }

  /** The ARN pattern of every schedule in this construct's group. */
  get schedulesArn(): string {
    return Stack.of(this).formatArn({
      service: "scheduler",
      resource: "schedule",
      resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
    });
  }

  private readonly schedulingFunctions: LambdaFunction[] = [];
  /** Delivery functions granted without a target: they may hold tasks of any target. */
  private readonly allTargetsDeliverers: LambdaFunction[] = [];

  /**
   * The configuration `runtime/tasks.ts` needs (tokens, resolved at deploy): for tools
   * outside Lambda, e.g. as a stack output. Functions get it through `grantScheduling`.
   */
  get runtimeConfig(): TasksConfig {
    return {
      table: this.table.tableName,
      scheduleGroup: this.scheduleGroup.scheduleGroupName,
      schedulerRoleArn: this.schedulerRole.roleArn,
      deadLetterQueueArn: this.deadLetterQueue.queueArn,
      targets: this.targets.map((q) => q.queueArn),
      retryPolicy: this.retryPolicy,
      retentionSeconds: this.taskRetention.toSeconds(),
      maxDelaySeconds: this.maxDelay.toSeconds(),
      ...(this.payloadStore
        ? {
            payloadBucket: this.payloadStore.bucketName,
            offloadThresholdBytes: this.offloadThresholdBytes,
          }
        : {}),
    };
  }

  private get retryPolicy() {
    return {
      maximumEventAgeSeconds: this.maxEventAge.toSeconds(),
      maximumRetryAttempts: this.retryAttempts,
    };
  }

  /**
   * Lets `fn` schedule and cancel tasks through `runtime/tasks.ts`: read/write the tasks
   * table, send to the targets, create/get/delete schedules in this group only, and pass exactly
   * the Scheduler role. Writes the configuration the runtime reads into its environment.
   */
  grantScheduling(fn: LambdaFunction): Grant {
    this.schedulingFunctions.push(fn);
    for (const target of this.targets) target.grantSendMessages(fn);
    const grant = this.table.grant(
      fn,
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );
    IamGrant.addToPrincipal({
      grantee: fn,
      actions: ["scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:DeleteSchedule"],
      resourceArns: [this.schedulesArn],
    });
    this.schedulerRole.grantPassRole(fn.grantPrincipal);
    if (fn.role) {
      acknowledgeWildcardResources(fn.role, [
        {
          matches: (resource, actions) =>
            resource.includes(":schedule/") &&
            resource.endsWith("/*") &&
            onlyActions([
              "scheduler:CreateSchedule",
              "scheduler:GetSchedule",
              "scheduler:DeleteSchedule",
            ])(actions),
          reason:
            "One-time schedules are created at run time, one per task and named from its key; the grant covers only this construct's schedule group.",
        },
      ]);
    }
    fn.addEnvironment(TASKS_ENV.table, this.table.tableName);
    fn.addEnvironment(TASKS_ENV.scheduleGroup, this.scheduleGroup.scheduleGroupName);
    fn.addEnvironment(TASKS_ENV.schedulerRoleArn, this.schedulerRole.roleArn);
    fn.addEnvironment(TASKS_ENV.deadLetterQueueArn, this.deadLetterQueue.queueArn);
    fn.addEnvironment(
      TASKS_ENV.targets,
      Lazy.string({
        produce: () => Stack.of(this).toJsonString(this.targets.map((q) => q.queueArn)),
      }),
    );
    fn.addEnvironment(TASKS_ENV.retryPolicy, JSON.stringify(this.retryPolicy));
    fn.addEnvironment(TASKS_ENV.retentionSeconds, String(this.taskRetention.toSeconds()));
    fn.addEnvironment(TASKS_ENV.maxDelaySeconds, String(this.maxDelay.toSeconds()));
    if (this.payloadStore) {
      // Writes large task messages under their hash; never reads or deletes them (they expire).
      this.payloadStore.grantWrite(fn);
      fn.addEnvironment(TASKS_ENV.payloadBucket, this.payloadStore.bucketName);
      fn.addEnvironment(TASKS_ENV.offloadThresholdBytes, String(this.offloadThresholdBytes));
    }
    return grant;
  }

  /**
   * Lets a consumer of a target queue deliver tasks through `deliverTask` (claim, mark delivered,
   * count dropped and duplicate deliveries) and tells it the table. It may also send to the target
   * queue: a task the Scheduler delivers early is sent back to it with a delay (`notBefore`).
   *
   * @param target the target queue `fn` consumes. @default every target, also those added later
   */
  grantDelivery(fn: LambdaFunction, target?: IQueue): Grant {
    if (target && !this.targets.includes(target)) {
      invalid(
        this,
        `grantDelivery: target must be one of the DelayedTasks targets, got ${target.node.path}`,
      );
    }
    if (target) target.grantSendMessages(fn);
    else {
      this.allTargetsDeliverers.push(fn);
      for (const queue of this.targets) queue.grantSendMessages(fn);
    }
    fn.addEnvironment(TASKS_ENV.table, this.table.tableName);
    const store = this.payloadStore;
    if (store) {
      // Reads the offloaded task messages; ListBucket makes a missing object NoSuchKey
      // (PAYLOAD_UNRESOLVABLE, dead-lettered) rather than AccessDenied (retried).
      store.grantRead(fn);
      this.node.addValidation({
        validate: () => {
          requireDeliveryReadsStore(this, fn, store);
          return [];
        },
      });
    }
    return this.table.grant(fn, "dynamodb:GetItem", "dynamodb:UpdateItem");
  }

  /** Lets an operator or tool read task records (status, due time, delivery counts). */
  grantRead(grantee: IGrantable): Grant {
    return this.table.grant(grantee, "dynamodb:GetItem");
  }
}

function validate(
  scope: IConstruct,
  props: DelayedTasksProps,
  retryAttempts: number,
  maxEventAge: Duration,
  taskRetention: Duration,
): void {
  // The Scheduler's own limits for a schedule's retry policy.
  requireInteger(scope, "retryAttempts", retryAttempts, 0, 185);
  requireSeconds(scope, "maxEventAge", maxEventAge, 60, 86_400, "from 60 seconds to 24 hours");
  requireSeconds(
    scope,
    "taskRetention",
    taskRetention,
    86_400,
    Number.POSITIVE_INFINITY,
    "at least 1 day",
  );
  requireName(scope, "scheduleGroupName", props.scheduleGroupName, "schedule");
}
