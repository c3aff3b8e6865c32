import { fileURLToPath } from "node:url";
import type { Template } from "aws-cdk-lib/assertions";
import { IdempotencyTable } from "../../lib/spool/idempotency-table/index.js";
import { QueueConsumer, type QueueConsumerProps } from "../../lib/spool/queue-consumer/index.js";
import { ReliableQueue } from "../../lib/spool/reliable-queue/index.js";
import type { SpoolMonitoringProps } from "../../lib/spool/spool-monitoring/index.js";
import { monitoredStack } from "./spool-monitoring.js";

const entry = fileURLToPath(new URL("./fixtures/noop-handler.ts", import.meta.url));

/** Which consumer a template test builds: its construct id (`Ops/<id>`), queue id and name. */
export interface ConsumerUnderTest {
  readonly id: string;
  readonly queueId: string;
  readonly consumerName: string;
  /** Whether its source is FIFO when the test does not say. */
  readonly fifo: boolean;
}

export type ConsumerTestProps = Partial<QueueConsumerProps> & {
  /** Give the consumer an idempotency table (default true). */
  withTable?: boolean;
  fifo?: boolean;
};

/**
 * One QueueConsumer on its own ReliableQueue, with an idempotency table, in a monitored stack
 * (SpoolMonitoring included, bundling skipped): the setup of each consumer-feature template test.
 */
export function monitoredConsumer(
  under: ConsumerUnderTest,
  props: ConsumerTestProps,
  monitoring: SpoolMonitoringProps = {},
) {
  return monitoredStack(monitoring, (stack) => {
    const { withTable = true, fifo = under.fifo, ...rest } = props;
    const table = new IdempotencyTable(stack, "Idempotency");
    new QueueConsumer(stack, under.id, {
      source: new ReliableQueue(stack, under.queueId, { fifo }),
      entry,
      consumerName: under.consumerName,
      ...(withTable ? { idempotencyTable: table.table } : {}),
      ...rest,
    });
  });
}

/** The environment variables of the consumer named `consumerName` in a template (throws if none). */
export function consumerVariables(
  template: Template,
  consumerName: string,
): Record<string, string> {
  const variables = Object.values(template.findResources("AWS::Lambda::Function"))
    .map((f) => (f.Properties.Environment?.Variables ?? {}) as Record<string, string>)
    .find((v) => v.SPOOL_CONSUMER_NAME === consumerName);
  if (!variables) throw new Error(`no function in the template has consumer name ${consumerName}`);
  return variables;
}
