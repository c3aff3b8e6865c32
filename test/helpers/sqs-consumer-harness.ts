/**
 * The queue consumer under test: createSqsConsumer with an in-memory idempotency table, a mocked
 * SQS, silent logs, spied metrics, a fixed clock and jitter. Shared by the tests of the record
 * pipeline (sqs-consumer.test.ts) and of the modules it carries out (failures, the deadline).
 * A test file calls useConsumerHarness() once, at its top level.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, vi } from "vitest";
import * as z from "zod";
import type { BackoffPolicy } from "../../lib/spool/runtime/backoff.js";
import type { ConsumerConfig } from "../../lib/spool/runtime/consumer-config.js";
import {
  type DeadLetterMetadata,
  parseDeadLetterMetadata,
} from "../../lib/spool/runtime/dead-letter.js";
import type { FaultInjector } from "../../lib/spool/runtime/faults.js";
import { SpoolIdempotencyStore } from "../../lib/spool/runtime/idempotency-store.js";
import type { PayloadObjects } from "../../lib/spool/runtime/payload-pointer.js";
import {
  type ConsumerDefinition,
  createSqsConsumer,
} from "../../lib/spool/runtime/sqs-consumer.js";
import { InMemoryPersistenceLayer } from "./in-memory-persistence.js";
import { lambdaContext, type RecordOptions, sqsEvent, sqsRecord } from "./sqs.js";

export const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q-dlq";
export const SOURCE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q";
export const FIFO_SOURCE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q.fifo";
export const NOW = new Date("2024-05-01T10:05:00.000Z");
export const BACKOFF: BackoffPolicy = { baseSeconds: 2, capSeconds: 300 };
export const HALF = () => 0.5;

export const Message = z.object({
  schemaVersion: z.literal(1),
  id: z.string().min(1),
  amount: z.number().int(),
  correlationId: z.string().optional(),
  tags: z.array(z.string()).optional(),
});
export type Message = z.infer<typeof Message>;

export const sqsMock = mockClient(SQSClient);

export interface Harness {
  readonly handler: ReturnType<typeof createSqsConsumer<Message, { handled: string }>>;
  readonly process: ReturnType<
    typeof vi.fn<ConsumerDefinition<Message, { handled: string }>["process"]>
  >;
  readonly store: InMemoryPersistenceLayer | undefined;
  readonly metricNames: () => string[];
  readonly publish: ReturnType<typeof vi.fn>;
}

export interface HarnessOptions {
  readonly config?: Partial<ConsumerConfig>;
  readonly process?: ConsumerDefinition<Message, { handled: string }>["process"];
  /** `null`: no idempotency; a store: share its table (another container). */
  readonly store?: InMemoryPersistenceLayer | null;
  readonly faults?: FaultInjector;
  readonly idempotencyKey?: (message: Message) => string;
  readonly notBefore?: ConsumerDefinition<Message, { handled: string }>["notBefore"];
  readonly isDone?: ConsumerDefinition<Message, { handled: string }>["isDone"];
  readonly jobs?: ConsumerDefinition<Message, { handled: string }>["jobs"];
  /** The payload store's objects (with `config.payloadBucket`). */
  readonly payloadObjects?: PayloadObjects;
  readonly jobKey?: ConsumerDefinition<Message, { handled: string }>["jobKey"];
}

export function harness(options: HarnessOptions = {}): Harness {
  const process = vi.fn<ConsumerDefinition<Message, { handled: string }>["process"]>(
    options.process ?? (async (message) => ({ handled: message.id })),
  );
  const store =
    options.store === null ? undefined : (options.store ?? new InMemoryPersistenceLayer());
  const metrics = new Metrics({ namespace: "Test", serviceName: "test" });
  const addMetric = vi.spyOn(metrics, "addMetric");
  const publish = vi.fn();
  vi.spyOn(metrics, "publishStoredMetrics").mockImplementation(publish);
  const config: ConsumerConfig = {
    consumerName: "test-consumer",
    deadLetterQueueUrl: DLQ_URL,
    maxReceiveCount: 5,
    backoff: BACKOFF,
    idempotencyTable: store ? "idempotency" : undefined,
    idempotencyTtlSeconds: 3_600,
    ...options.config,
  };
  const handler = createSqsConsumer<Message, { handled: string }>(
    {
      schema: Message,
      idempotencyKey: options.idempotencyKey ?? ((m) => m.id),
      process,
      ...(options.notBefore ? { notBefore: options.notBefore } : {}),
      ...(options.isDone ? { isDone: options.isDone } : {}),
      ...(options.jobs ? { jobs: options.jobs } : {}),
      ...(options.jobKey ? { jobKey: options.jobKey } : {}),
    },
    config,
    {
      sqs: new SQSClient({ region: "us-east-1" }),
      dynamo: new DynamoDBClient({ region: "us-east-1" }),
      persistenceStore: store,
      logger: new Logger({ serviceName: "test", logLevel: "SILENT" }),
      metrics,
      faults: options.faults,
      ...(options.payloadObjects ? { payloadObjects: options.payloadObjects } : {}),
      random: HALF,
      now: () => NOW,
    },
  );
  return {
    handler,
    process,
    store,
    metricNames: () => addMetric.mock.calls.map((call) => call[0]),
    publish,
  };
}

/**
 * The consumer with Powertools' DynamoDB layer (SpoolIdempotencyStore, as deployed) over `dynamo`,
 * for tests that watch its DynamoDB calls through a mock of that client: the effect fence and its
 * completing commit. Metrics are real (their lines go to the console), the rest as harness().
 */
export function storeConsumer(
  dynamo: DynamoDBClient,
  definition: Pick<ConsumerDefinition<Message, unknown>, "process" | "isDone">,
) {
  const store = new SpoolIdempotencyStore({ tableName: "idempotency", awsSdkV3Client: dynamo });
  return createSqsConsumer<Message, unknown>(
    { schema: Message, idempotencyKey: (m) => m.id, ...definition },
    {
      consumerName: "test-consumer",
      deadLetterQueueUrl: DLQ_URL,
      maxReceiveCount: 5,
      backoff: BACKOFF,
      idempotencyTable: "idempotency",
      idempotencyTtlSeconds: 3_600,
    },
    {
      sqs: new SQSClient({ region: "us-east-1" }),
      dynamo,
      persistenceStore: store,
      logger: new Logger({ serviceName: "test", logLevel: "SILENT" }),
      metrics: new Metrics({ namespace: "Test", serviceName: "test" }),
      faults: undefined,
      random: HALF,
      now: () => NOW,
    },
  );
}

export const body = (id: string, extra: Partial<Message> = {}) => ({
  schemaVersion: 1,
  id,
  amount: 100,
  ...extra,
});

export const record = (options: RecordOptions) => sqsRecord(options);
export const fifoRecord = (messageId: string, groupId: string | null, id = messageId) =>
  sqsRecord({ messageId, body: body(id), fifo: true, groupId });

export async function invoke(h: Harness, ...records: SQSRecord[]) {
  return h.handler(sqsEvent(...records), lambdaContext());
}

export const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((f) => f.itemIdentifier);

export function deadLetters(): SendMessageCommandInput[] {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
}

export function metadataOf(sent: SendMessageCommandInput | undefined): DeadLetterMetadata {
  const metadata = parseDeadLetterMetadata(sent?.MessageAttributes);
  if (!metadata) throw new Error("no dead-letter metadata on the sent message");
  return metadata;
}

/** Every visibility change, flattened: queue URL, receipt handle, timeout. */
export function visibilityChanges() {
  return sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      queueUrl: call.args[0].input.QueueUrl,
      receiptHandle: entry.ReceiptHandle,
      visibilityTimeout: entry.VisibilityTimeout,
    })),
  );
}

/** Resets the SQS mock (dead letters and visibility changes succeed) and the stubs per test. */
export function useConsumerHarness(): void {
  beforeEach(() => {
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "dead-letter-id" });
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    // Queue URLs are derived from the ARN and the endpoint variables; pin them to AWS's.
    vi.stubEnv("AWS_ENDPOINT_URL_SQS", undefined);
    vi.stubEnv("AWS_ENDPOINT_URL", undefined);
  });

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });
}
