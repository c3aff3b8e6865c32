import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { delayedTasksKind } from "../../spool/delayed-tasks/monitoring.js";
import { eventSubscriptionKind } from "../../spool/event-subscription/monitoring.js";
import { priorityLanesKind } from "../../spool/priority-lanes/monitoring.js";
import { recurringJobKind } from "../../spool/recurring-job/monitoring.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { workflowKind } from "../../spool/saga-workflow/monitoring.js";
import { SpoolMonitoring } from "../../spool/spool-monitoring/index.js";
import { outboxKind } from "../../spool/transactional-outbox/monitoring.js";
import { stateTable } from "./state-table.js";

export interface OperationsProps {
  /** Adds the scratch queues the operator CLI's integration tests fill directly. */
  readonly testHooks: boolean;
}

/**
 * What an operator needs: alarms and a dashboard over everything in the stack, and the audit
 * table the `spool` CLI records every dead-letter replay and every consumer pause and resume in.
 */
export class Operations extends Construct {
  readonly monitoring: SpoolMonitoring;
  /**
   * Who replayed which dead letters, when, with which filters (`spool dlq replay`), and who
   * paused or resumed which consumer (`spool consumers pause|resume`).
   */
  readonly auditTable: Table;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.monitoring = new SpoolMonitoring(this, "Monitoring");
    // Queues and consumers are built in; the other capabilities' resources plug in here.
    this.monitoring.addKind(workflowKind());
    this.monitoring.addKind(delayedTasksKind());
    this.monitoring.addKind(recurringJobKind());
    this.monitoring.addKind(outboxKind());
    this.monitoring.addKind(eventSubscriptionKind());
    this.monitoring.addKind(priorityLanesKind());
    this.auditTable = stateTable(this, "OperatorAudit");

    if (props.testHooks) {
      // Queues without a consumer: tests put dead letters straight into their DLQs and watch
      // the CLI move them, with nothing else draining either side. A low maxReceiveCount lets a
      // test produce a bare, redrive-moved dead letter by receiving a message twice.
      const lab = new ReliableQueue(this, "OpsLab", {
        maxReceiveCount: 2,
        visibilityTimeout: Duration.seconds(30),
      });
      const labFifo = new ReliableQueue(this, "OpsLabFifo", {
        fifo: true,
        maxReceiveCount: 2,
        visibilityTimeout: Duration.seconds(30),
      });
      // Dead letters that expire within two minutes: the suite watches the expiry alarms
      // (warning at an age over 60 s, page over 90 s: half and a quarter of the retention before
      // it) fire while the letter is still there, then SQS drop it at its retention.
      const expiryLab = new ReliableQueue(this, "ExpiryLab", {
        retentionPeriod: Duration.seconds(60),
        deadLetterRetentionPeriod: Duration.seconds(120),
      });
      new CfnOutput(scope, "ExpiryLabDeadLetterQueueUrl", {
        value: expiryLab.deadLetterQueue.queueUrl,
      });
      new CfnOutput(scope, "OpsLabQueueUrl", { value: lab.queue.queueUrl });
      new CfnOutput(scope, "OpsLabDeadLetterQueueUrl", { value: lab.deadLetterQueue.queueUrl });
      new CfnOutput(scope, "OpsLabFifoQueueUrl", { value: labFifo.queue.queueUrl });
      new CfnOutput(scope, "OpsLabFifoDeadLetterQueueUrl", {
        value: labFifo.deadLetterQueue.queueUrl,
      });
    }

    new CfnOutput(scope, "AlarmTopicArn", { value: this.monitoring.alarmTopic.topicArn });
    new CfnOutput(scope, "DashboardName", { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(scope, "QueueSamplerFunctionName", {
      value: this.monitoring.queueSampler.functionName,
    });
    new CfnOutput(scope, "OperatorAuditTableName", { value: this.auditTable.tableName });
  }
}
