import { readFileSync } from "node:fs";
import {
  occurrencesBetween,
  parseRecurringExpression,
} from "../../../lib/spool/recurring-job/schedule-expression.js";

/**
 * What a Spool stack costs on AWS, from its CloudFormation template and published prices
 * (prices.json: each with its source and date). Two views:
 *
 * - at rest: a month with no traffic. What runs anyway: alarms, the dashboard, the queue
 *   sampler (custom metrics, its metric reads and invocations), KMS keys, event source mappings
 *   long-polling empty queues, recurring schedules.
 * - per million messages through one queue consumer with idempotency, and per million events
 *   through the outbox.
 *
 * Free tiers are per account, so they are listed but not subtracted. Storage that grows with
 * data (tables, logs) is left out of "at rest": it is zero for an empty stack.
 */

export interface Price {
  readonly usd: number;
  readonly per: string;
  readonly source: string;
  readonly sourceDate: string;
  readonly confidence: string;
  readonly freeTier?: string;
}

export interface PriceBook {
  readonly region: string;
  readonly collected: string;
  readonly prices: Readonly<Record<string, Price>>;
  readonly assumptions: Readonly<Record<string, { readonly value: number; readonly why: string }>>;
}

export interface CostLine {
  readonly resourceClass: string;
  /** What is counted, e.g. "95 alarms". */
  readonly quantity: string;
  readonly usd: number;
  /** The prices.json keys this line uses. */
  readonly prices: readonly string[];
  /** What lowers it. */
  readonly knob?: string;
}

export interface CostReport {
  readonly atRest: readonly CostLine[];
  readonly perMillionMessages: readonly CostLine[];
  readonly perMillionEvents: readonly CostLine[];
  /** Resources a stack delete leaves behind (their removal policy keeps them). */
  readonly leftOnDelete: readonly { readonly logicalId: string; readonly type: string }[];
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
}

interface Template {
  readonly Resources: Record<string, Resource>;
}

const MINUTES_PER_MONTH = 730 * 60;
/** Metrics the queue sampler publishes per sampled queue, and the metrics it reads per queue. */
const SAMPLER_PUBLISHED_PER_QUEUE = 3; // EstimatedSecondsToDrain, DeadLetterQueueMessages, DeadLetterQueueGrowth
const SAMPLER_READ_PER_QUEUE = 2; // NumberOfMessagesDeleted, its own DeadLetterQueueMessages baseline
const SAMPLER_ATTRIBUTE_CALLS_PER_QUEUE = 2; // GetQueueAttributes on the queue and on its DLQ

export function loadPriceBook(path = new URL("./prices.json", import.meta.url)): PriceBook {
  return JSON.parse(readFileSync(path, "utf8")) as PriceBook;
}

function resourcesOf(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The logical id an intrinsic points at ({Ref}, {Fn::GetAtt}), if any. */
function targetOf(value: unknown): string | undefined {
  const v = value as { Ref?: string; "Fn::GetAtt"?: [string, string] } | undefined;
  return v?.Ref ?? v?.["Fn::GetAtt"]?.[0];
}

/** Invocations a month (730 hours) of a Scheduler or EventBridge `rate(...)` / `cron(...)`. */
export function invocationsPerMonth(expression: string): number {
  const parsed = parseRecurringExpression(expression);
  if (parsed.kind === "rate") return (MINUTES_PER_MONTH * 60_000) / parsed.periodMs;
  const from = new Date("2026-01-01T00:00:00Z");
  const to = new Date(from.getTime() + MINUTES_PER_MONTH * 60_000);
  return occurrencesBetween(parsed, from, to, { timeZone: "UTC" }).length;
}

function alarmMetrics(alarm: Resource): number {
  const metrics = alarm.Properties?.Metrics as { MetricStat?: unknown }[] | undefined;
  return metrics ? metrics.filter((m) => m.MetricStat).length : 1;
}

/** The queue sampler's schedules: rule → (queues it samples, how often, its function). */
function samplerSchedules(template: Template) {
  const out: { queues: number; perMonth: number; functionId: string | undefined }[] = [];
  for (const [, rule] of resourcesOf(template, "AWS::Events::Rule")) {
    const expression = rule.Properties?.ScheduleExpression as string | undefined;
    const targets = (rule.Properties?.Targets ?? []) as { Input?: unknown; Arn?: unknown }[];
    for (const target of targets) {
      const text = inputText(target.Input);
      if (text === undefined || !expression) continue;
      let input: { queues?: unknown[]; namespace?: string };
      try {
        input = JSON.parse(text) as typeof input;
      } catch {
        continue;
      }
      if (!Array.isArray(input.queues) || !input.namespace) continue;
      out.push({
        queues: input.queues.length,
        perMonth: invocationsPerMonth(expression),
        functionId: targetOf(target.Arn),
      });
    }
  }
  return out;
}

/**
 * A rule target's Input as text. CDK renders JSON holding tokens as an Fn::Join whose tokens sit
 * inside quotes already; each becomes a placeholder, which is all counting needs.
 */
function inputText(input: unknown): string | undefined {
  if (typeof input === "string") return input;
  const join = (input as { "Fn::Join"?: [string, unknown[]] } | undefined)?.["Fn::Join"];
  if (!join) return undefined;
  return join[1].map((part) => (typeof part === "string" ? part : "token")).join(join[0]);
}

export function estimate(template: Template, book: PriceBook): CostReport {
  const p = (key: string) => {
    const price = book.prices[key];
    if (!price) throw new Error(`prices.json has no ${key}`);
    return price.usd;
  };
  const a = (key: string) => {
    const assumption = book.assumptions[key];
    if (!assumption) throw new Error(`prices.json has no assumption ${key}`);
    return assumption.value;
  };
  const functions = Object.fromEntries(resourcesOf(template, "AWS::Lambda::Function"));
  const memoryGb = (id: string | undefined) =>
    (Number(functions[id ?? ""]?.Properties?.MemorySize) || 128) / 1024;
  const queues = Object.fromEntries(resourcesOf(template, "AWS::SQS::Queue"));

  const atRest: CostLine[] = [];
  const alarms = resourcesOf(template, "AWS::CloudWatch::Alarm");
  const alarmMetricCount = alarms.reduce((sum, [, alarm]) => sum + alarmMetrics(alarm), 0);
  atRest.push({
    resourceClass: "CloudWatch alarms",
    quantity: `${alarms.length} alarms, ${alarmMetricCount} alarm metrics`,
    usd: alarmMetricCount * p("cloudwatch.alarm"),
    prices: ["cloudwatch.alarm"],
    knob: "SpoolMonitoring: queueAlarms/consumerAlarms { alarms: false } per kind, or monitor(..., { alarms: false }) per resource",
  });
  const dashboards = resourcesOf(template, "AWS::CloudWatch::Dashboard").length;
  atRest.push({
    resourceClass: "CloudWatch dashboards",
    quantity: `${dashboards} dashboards`,
    usd: dashboards * p("cloudwatch.dashboard"),
    prices: ["cloudwatch.dashboard"],
    knob: "SpoolMonitoring dashboard: false",
  });

  const sampler = samplerSchedules(template);
  const sampledQueues = sampler.reduce((s, r) => s + r.queues, 0);
  const samples = sampler.reduce((s, r) => s + r.queues * r.perMonth, 0);
  const samplerRuns = sampler.reduce((s, r) => s + r.perMonth, 0);
  if (sampler.length) {
    const knob = "SpoolMonitoring sampleInterval (5 minutes costs a fifth)";
    atRest.push({
      resourceClass: "Custom metrics (queue sampler)",
      quantity: `${sampledQueues} queues x ${SAMPLER_PUBLISHED_PER_QUEUE} metrics`,
      usd: sampledQueues * SAMPLER_PUBLISHED_PER_QUEUE * p("cloudwatch.customMetric"),
      prices: ["cloudwatch.customMetric"],
      knob: "monitor fewer queues, or leave their drain-time and DLQ-growth alarms off",
    });
    atRest.push({
      resourceClass: "CloudWatch metric reads (queue sampler)",
      quantity: `${Math.round(samples * SAMPLER_READ_PER_QUEUE).toLocaleString("en-US")} metrics read`,
      usd: ((samples * SAMPLER_READ_PER_QUEUE) / 1000) * p("cloudwatch.getMetricData"),
      prices: ["cloudwatch.getMetricData"],
      knob,
    });
    atRest.push({
      resourceClass: "CloudWatch PutMetricData (queue sampler)",
      quantity: `${Math.round(samplerRuns).toLocaleString("en-US")} calls`,
      usd: (samplerRuns / 1000) * p("cloudwatch.apiRequest"),
      prices: ["cloudwatch.apiRequest"],
      knob,
    });
    const seconds = a("samplerSecondsPerInvocation");
    const gbSeconds = sampler.reduce(
      (s, r) => s + r.perMonth * seconds * memoryGb(r.functionId),
      0,
    );
    atRest.push({
      resourceClass: "Lambda (queue sampler)",
      quantity: `${Math.round(samplerRuns).toLocaleString("en-US")} invocations`,
      usd: (samplerRuns / 1e6) * p("lambda.request") + gbSeconds * p("lambda.gbSecondArm"),
      prices: ["lambda.request", "lambda.gbSecondArm"],
      knob,
    });
    atRest.push({
      resourceClass: "SQS GetQueueAttributes (queue sampler)",
      quantity: `${Math.round(samples * SAMPLER_ATTRIBUTE_CALLS_PER_QUEUE).toLocaleString("en-US")} requests`,
      usd: ((samples * SAMPLER_ATTRIBUTE_CALLS_PER_QUEUE) / 1e6) * p("sqs.standardRequest"),
      prices: ["sqs.standardRequest"],
      knob,
    });
  }

  const keys = resourcesOf(template, "AWS::KMS::Key").length;
  atRest.push({
    resourceClass: "KMS keys",
    quantity: `${keys} keys`,
    usd: keys * p("kms.key"),
    prices: ["kms.key"],
    knob: "SpoolMonitoring alarmTopic: pass a topic encrypted with a key you already pay for",
  });

  const sqsMappings = resourcesOf(template, "AWS::Lambda::EventSourceMapping").filter(([, m]) => {
    const source = targetOf(m.Properties?.EventSourceArn);
    return source !== undefined && queues[source] !== undefined;
  });
  const fifoMappings = sqsMappings.filter(
    ([, m]) => queues[targetOf(m.Properties?.EventSourceArn) ?? ""]?.Properties?.FifoQueue === true,
  ).length;
  const idle = a("esmIdleReceivesPerMonth");
  atRest.push({
    resourceClass: "SQS polling by idle consumers (estimate)",
    quantity: `${sqsMappings.length} SQS event source mappings (${fifoMappings} FIFO)`,
    usd:
      ((sqsMappings.length - fifoMappings) * idle * p("sqs.standardRequest")) / 1e6 +
      (fifoMappings * idle * p("sqs.fifoRequest")) / 1e6,
    prices: ["sqs.standardRequest", "sqs.fifoRequest"],
    knob: "fewer queues: a consumer can serve several message kinds on one queue",
  });

  const scheduleRuns = resourcesOf(template, "AWS::Scheduler::Schedule").reduce((sum, [, s]) => {
    const expression = s.Properties?.ScheduleExpression;
    return typeof expression === "string" && !expression.startsWith("at(")
      ? sum + invocationsPerMonth(expression)
      : sum;
  }, 0);
  atRest.push({
    resourceClass: "EventBridge Scheduler (recurring jobs)",
    quantity: `${Math.round(scheduleRuns)} runs`,
    usd: (scheduleRuns / 1e6) * p("scheduler.invocation"),
    prices: ["scheduler.invocation"],
  });

  // Per million messages through one QueueConsumer with idempotency (batches of 10).
  const consumerMemory = memoryGb(targetOf(sqsMappings[0]?.[1].Properties?.FunctionName));
  const invocations = 1e6 / 10;
  const perMillionMessages: CostLine[] = [
    {
      resourceClass: "SQS requests",
      quantity: `${(a("sqsRequestsPerMessage") * 1e6).toLocaleString("en-US")} requests`,
      usd: a("sqsRequestsPerMessage") * p("sqs.standardRequest"),
      prices: ["sqs.standardRequest"],
      knob: "batch sends (SendMessageBatch); keep bodies under 64 KB",
    },
    {
      resourceClass: "Lambda",
      quantity: `${invocations.toLocaleString("en-US")} invocations of ${consumerMemory * 1024} MB`,
      usd:
        (invocations / 1e6) * p("lambda.request") +
        invocations * a("consumerBatchSeconds") * consumerMemory * p("lambda.gbSecondArm"),
      prices: ["lambda.request", "lambda.gbSecondArm"],
      knob: "batchSize and maxBatchingWindow",
    },
    {
      resourceClass: "DynamoDB writes",
      quantity: `${(a("writeUnitsPerMessage") * 1e6).toLocaleString("en-US")} write units`,
      usd: a("writeUnitsPerMessage") * p("dynamodb.writeRequest"),
      prices: ["dynamodb.writeRequest"],
    },
    {
      resourceClass: "CloudWatch Logs ingestion",
      quantity: `${((a("logBytesPerMessage") * 1e6) / 1e9).toFixed(1)} GB`,
      usd: ((a("logBytesPerMessage") * 1e6) / 1e9) * p("logs.ingestion"),
      prices: ["logs.ingestion"],
      knob: "POWERTOOLS_LOG_LEVEL=WARN",
    },
    {
      resourceClass: "X-Ray traces",
      quantity: `up to ${invocations.toLocaleString("en-US")} traces`,
      usd: invocations * p("xray.trace"),
      prices: ["xray.trace"],
      knob: "tracing: Tracing.DISABLED, or a lower sampling rate",
    },
  ];

  // Per million events through the outbox: the producer's row, the publisher, PutEvents.
  const perMillionEvents: CostLine[] = [
    {
      resourceClass: "DynamoDB writes (outbox row, PUBLISHED mark)",
      quantity: "2,000,000 write units",
      usd: 2 * p("dynamodb.writeRequest"),
      prices: ["dynamodb.writeRequest"],
    },
    {
      resourceClass: "EventBridge custom events",
      quantity: "1,000,000 events",
      usd: p("eventbridge.event"),
      prices: ["eventbridge.event"],
    },
    {
      resourceClass: "Lambda (publisher, batches of 100)",
      quantity: "10,000 invocations",
      usd: (1e4 / 1e6) * p("lambda.request") + 1e4 * 0.5 * 0.25 * p("lambda.gbSecondArm"),
      prices: ["lambda.request", "lambda.gbSecondArm"],
    },
  ];

  const leftOnDelete = Object.entries(template.Resources)
    .filter(([, r]) => r.DeletionPolicy === "Retain" || r.DeletionPolicy === "RetainExceptOnCreate")
    .map(([logicalId, r]) => ({ logicalId, type: r.Type }));
  return { atRest, perMillionMessages, perMillionEvents, leftOnDelete };
}

export const total = (lines: readonly CostLine[]) => lines.reduce((s, l) => s + l.usd, 0);
