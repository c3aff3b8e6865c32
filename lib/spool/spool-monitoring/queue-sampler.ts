import { fileURLToPath } from "node:url";
import { Duration, Lazy, Stack, Validations } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { SpoolFunction } from "../spool-function/index.js";

/**
 * The queue sampler: a scheduled function that publishes EstimatedSecondsToDrain and
 * dead-letter growth per queue as plain metrics, because metric-math alarms are not deployable
 * everywhere. Its resources are created in the monitoring construct's scope.
 */

export interface SampledQueue {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** What every sampler schedule tells the sampler. */
export interface SamplerSettings {
  readonly metricsNamespace: string;
  readonly sampleInterval: Duration;
  readonly rateWindow: Duration;
  readonly growthWindow: Duration;
}

/** One sampler schedule and the queues its input carries. */
export interface SamplerRule {
  readonly rule: Rule;
  readonly queues: SampledQueue[];
}

/** Queues per sampler schedule: keeps each rule target's input well under its 8 KB limit. */
const QUEUES_PER_SAMPLER_RULE = 25;

const samplerEntry = fileURLToPath(new URL("./runtime/sampler-handler.ts", import.meta.url));

/** The sampler function (with its own role) and the alarm on its errors (for the caller to wire). */
export function createQueueSampler(
  scope: Construct,
  options: { readonly metricsNamespace: string; readonly logRetention?: RetentionDays | undefined },
): { queueSampler: SpoolFunction; samplerErrors: Alarm } {
  // Its own role, so what it may do is decided (and acknowledged) here: its log group, X-Ray,
  // and CloudWatch metrics, which have no resource-level permissions.
  const samplerRole = new Role(scope, "QueueSamplerRole", {
    assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
    description: "Execution role of the Spool queue sampler",
  });
  const queueSampler = new SpoolFunction(scope, "QueueSampler", {
    entry: samplerEntry,
    role: samplerRole,
    description:
      "Spool monitoring: publishes EstimatedSecondsToDrain and dead-letter growth per queue",
    timeout: Duration.seconds(50),
    memorySize: 256,
    ...(options.logRetention ? { logRetention: options.logRetention } : {}),
    environment: { POWERTOOLS_SERVICE_NAME: "spool-queue-sampler" },
  });
  // PutMetricData and GetMetricData take no resource ARNs; the namespace condition keeps the
  // sampler from writing anywhere but its own namespace.
  queueSampler.addToRolePolicy(
    new PolicyStatement({
      actions: ["cloudwatch:PutMetricData"],
      resources: ["*"],
      conditions: { StringEquals: { "cloudwatch:namespace": options.metricsNamespace } },
    }),
  );
  queueSampler.addToRolePolicy(
    new PolicyStatement({ actions: ["cloudwatch:GetMetricData"], resources: ["*"] }),
  );
  queueSampler.logGroup.grantWrite(samplerRole);
  Validations.of(samplerRole).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "cloudwatch:PutMetricData (held to the sampler's namespace by a condition), cloudwatch:GetMetricData and X-Ray tracing have no resource-level permissions; SQS access names each queue.",
  });
  Validations.of(queueSampler).acknowledge({
    id: "Serverless-LambdaDLQ",
    reason:
      "Invoked by a schedule every minute with no retries: a failed sample is worthless a minute later, and the monitoring-queue-sampler-errors alarm reports failures.",
  });
  const samplerErrors = new Alarm(scope, "QueueSamplerErrors", {
    alarmName: `${Stack.of(scope).stackName}-monitoring-queue-sampler-errors`,
    alarmDescription:
      "The queue sampler failed: EstimatedSecondsToDrain and dead-letter growth are not being published, so their alarms cannot fire.",
    metric: queueSampler.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
    threshold: 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    evaluationPeriods: 1,
  });
  return { queueSampler, samplerErrors };
}

/**
 * Has the sampler sample `queue` and its dead-letter queue: grants it their attributes and adds
 * them to the last schedule's input, or to a new schedule once that one carries enough queues.
 */
export function sampleQueue(
  scope: Construct,
  sampler: SpoolFunction,
  rules: SamplerRule[],
  settings: SamplerSettings,
  queue: IQueue,
  deadLetterQueue: IQueue,
): void {
  queue.grant(sampler, "sqs:GetQueueAttributes");
  deadLetterQueue.grant(sampler, "sqs:GetQueueAttributes");
  let current = rules.at(-1);
  if (!current || current.queues.length >= QUEUES_PER_SAMPLER_RULE) {
    const queues: SampledQueue[] = [];
    const rule = new Rule(scope, `QueueSamplerSchedule${rules.length + 1}`, {
      description: "Spool monitoring: sample queue depth and processing rate",
      schedule: Schedule.rate(settings.sampleInterval),
    });
    rule.addTarget(
      new LambdaFunction(sampler, {
        event: RuleTargetInput.fromObject({
          namespace: settings.metricsNamespace,
          rateWindowSeconds: settings.rateWindow.toSeconds(),
          growthWindowSeconds: settings.growthWindow.toSeconds(),
          queues: Lazy.any({ produce: () => queues }),
        }),
        // A sample is worth nothing a minute later: no retries, no queueing of stale events.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    );
    Validations.of(rule).acknowledge({
      id: "Serverless-EventBusDLQ",
      reason:
        "A queue sample is worth nothing a minute later: an undelivered one is dropped on purpose (no retries, max event age 1 minute), and its absence alarms through the sampler's own error alarm.",
    });
    current = { rule, queues };
    rules.push(current);
  }
  current.queues.push({
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: deadLetterQueue.queueUrl,
  });
}
