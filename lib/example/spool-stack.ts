import { CfnOutput, Duration, Stack, type StackProps, Token } from "aws-cdk-lib";
import type { Construct, IConstruct } from "constructs";
import { IdempotencyTable } from "../spool/idempotency-table/index.js";
import { QueueConsumer } from "../spool/queue-consumer/index.js";
import { ReliableQueue } from "../spool/reliable-queue/index.js";
import type { SpoolMonitoring } from "../spool/spool-monitoring/index.js";
import { Approvals } from "./parts/approvals.js";
import { BreakerGuarded } from "./parts/breaker-guarded.js";
import { ChunkedJobs } from "./parts/chunked-jobs.js";
import { Events } from "./parts/events.js";
import { HeldGroups } from "./parts/held-groups.js";
import { LargePayloads } from "./parts/large-payloads.js";
import { LongWork } from "./parts/long-work.js";
import { Messaging } from "./parts/messaging.js";
import { Operations } from "./parts/operations.js";
import { Lanes } from "./parts/priority-lanes.js";
import { RateLimited } from "./parts/rate-limited.js";
import { Scheduling } from "./parts/scheduling.js";
import { stateTable } from "./parts/state-table.js";
import { TenantFair } from "./parts/tenant-fairness.js";
import { Workflows } from "./parts/workflows.js";

/** The account id every LocalStack-compatible emulator uses. */
export const EMULATOR_ACCOUNT = "000000000000";

export interface SpoolStackProps extends StackProps {
  /**
   * Test hooks: fault injection and short retry timings, for deployments to a local emulator.
   * Refused for any account but the emulator's, so a real deployment can never carry them.
   * @default false
   */
  readonly testHooks?: boolean;
}

/** The reference stack: the order domain built from Spool's constructs. */
export class SpoolStack extends Stack {
  readonly messaging: Messaging;
  readonly scheduling: Scheduling;
  readonly workflows: Workflows;
  readonly events: Events;
  readonly operations: Operations;
  /** Test hooks only: the heartbeat's long records. */
  readonly longWork: LongWork | undefined;
  /** Test hooks only: a rate-limited consumer. */
  readonly rateLimited: RateLimited | undefined;
  /** Test hooks only: queue messages tracked as jobs, with progress and cancel. */
  readonly chunkedJobs: ChunkedJobs | undefined;
  /** Test hooks only: a consumer calling its dependency through a circuit breaker. */
  readonly breakerGuarded: BreakerGuarded | undefined;
  readonly heldGroups: HeldGroups | undefined;
  /** Test hooks only: a consumer with a claim-check payload store. */
  readonly largePayloads: LargePayloads | undefined;
  /** Test hooks only: one kind of work on a high and a low priority lane. */
  readonly lanes: Lanes | undefined;
  /** Test hooks only: a saga with a step that waits for an approval. */
  readonly approvals: Approvals | undefined;
  /** Test hooks only: a consumer holding each tenant to an in-flight quota. */
  readonly tenantFair: TenantFair | undefined;

  constructor(scope: Construct, id: string, props: SpoolStackProps = {}) {
    super(scope, id, props);
    const testHooks = props.testHooks ?? false;
    if (testHooks && (Token.isUnresolved(this.account) || this.account !== EMULATOR_ACCOUNT)) {
      throw new Error(
        `testHooks needs the emulator account ${EMULATOR_ACCOUNT}, got account ${Token.isUnresolved(this.account) ? "(unresolved)" : this.account}`,
      );
    }

    const idempotencyTable = new IdempotencyTable(this, "Idempotency");
    const effectsTable = stateTable(this, "Effects");

    const handlerEnvironment: Record<string, string> = testHooks
      ? { SPOOL_FAULT_INJECTION: "enabled" }
      : {};
    // Test deployments retry in seconds so the suite can watch a message die; AWS gets the defaults.
    const consumerTimeout = testHooks ? Duration.seconds(5) : Duration.seconds(30);
    const backoff = testHooks
      ? { base: Duration.seconds(1), cap: Duration.seconds(8) }
      : { base: Duration.seconds(2), cap: Duration.minutes(5) };
    this.messaging = new Messaging(this, "Messaging", {
      idempotencyTable,
      effectsTable,
      handlerEnvironment,
      consumerTimeout,
      backoff,
      // An email provider's sending quota (SES production accounts start at 14 a second). Test
      // deployments leave it off: the suite and the chaos check push thousands of notifications
      // through in seconds; the RateLimited part below proves the limit on the emulator.
      ...(testHooks ? {} : { notificationsRateLimit: { perSecond: 14, burst: 14 } }),
    });

    this.scheduling = new Scheduling(this, "Scheduling", {
      messaging: this.messaging,
      idempotencyTable,
      effectsTable,
      handlerEnvironment,
      consumerTimeout,
      backoff,
      testHooks,
    });

    this.workflows = new Workflows(this, "Workflows", {
      effectsTable,
      notifications: this.messaging.notifications,
      handlerEnvironment,
      consumerTimeout,
      backoff,
      testHooks,
    });

    this.events = new Events(this, "Events", {
      idempotencyTable,
      effectsTable,
      handlerEnvironment,
      consumerTimeout,
      backoff,
      // Not a test hook but an emulator fact: MiniStack ignores partial batch responses for
      // DynamoDB streams, so there the outbox publisher fails whole batches instead.
      streamPartialBatchResponses: this.account !== EMULATOR_ACCOUNT,
      // Another: MiniStack rejects a template declaring an AWS::Events::Archive.
      archiveEvents: this.account !== EMULATOR_ACCOUNT,
    });

    this.longWork = testHooks
      ? new LongWork(this, "LongWork", { effectsTable, handlerEnvironment, backoff })
      : undefined;
    this.rateLimited = testHooks
      ? new RateLimited(this, "RateLimited", {
          idempotencyTable,
          effectsTable,
          handlerEnvironment,
          consumerTimeout,
          backoff,
        })
      : undefined;
    this.tenantFair = testHooks
      ? new TenantFair(this, "TenantFair", {
          idempotencyTable,
          effectsTable,
          handlerEnvironment,
          consumerTimeout,
          backoff,
        })
      : undefined;
    this.lanes = testHooks
      ? new Lanes(this, "PriorityLanes", {
          idempotencyTable,
          effectsTable,
          handlerEnvironment,
          consumerTimeout,
          backoff,
        })
      : undefined;
    this.chunkedJobs = testHooks
      ? new ChunkedJobs(this, "ChunkedJobs", {
          idempotencyTable,
          jobs: this.workflows.jobs,
          effectsTable,
          handlerEnvironment,
          backoff,
        })
      : undefined;
    this.breakerGuarded = testHooks
      ? new BreakerGuarded(this, "BreakerGuarded", {
          idempotencyTable,
          effectsTable,
          handlerEnvironment,
          consumerTimeout,
          backoff,
        })
      : undefined;
    this.heldGroups = testHooks
      ? new HeldGroups(this, "HeldGroups", {
          idempotencyTable,
          effectsTable,
          handlerEnvironment,
          consumerTimeout,
          backoff,
        })
      : undefined;
    this.largePayloads = testHooks
      ? new LargePayloads(this, "LargePayloads", {
          idempotencyTable,
          effectsTable,
          handlerEnvironment,
          consumerTimeout,
          backoff,
        })
      : undefined;

    this.approvals = testHooks
      ? new Approvals(this, "Approvals", {
          jobs: this.workflows.jobs,
          effectsTable,
          handlerEnvironment,
        })
      : undefined;

    // Monitoring discovers every queue and consumer in the stack, wherever they are added.
    this.operations = new Operations(this, "Operations", { testHooks });
    // CloudFormation takes at most 500 resources a stack, on the emulator as on AWS. These parts
    // each show one behaviour to the suite; their queues and consumers keep their dashboard rows
    // but not their alarms (about eleven each), which would take the test deployment over the
    // limit. BreakerGuarded keeps its alarms: the open-breaker alarm is what it declares.
    for (const part of [
      this.longWork,
      this.rateLimited,
      this.tenantFair,
      this.lanes,
      this.chunkedJobs,
      this.largePayloads,
      this.scheduling.largeTasks,
      this.scheduling.largeTasksConsumer,
    ]) {
      if (part) withoutAlarms(this.operations.monitoring, part);
    }

    new CfnOutput(this, "IdempotencyTableName", { value: idempotencyTable.tableName });
    new CfnOutput(this, "EffectsTableName", { value: effectsTable.tableName });
  }
}

/** Monitors every queue and consumer under `part` on the dashboard only, with no alarms. */
function withoutAlarms(monitoring: SpoolMonitoring, part: IConstruct): void {
  for (const construct of part.node.findAll()) {
    if (construct instanceof ReliableQueue || construct instanceof QueueConsumer) {
      monitoring.monitor(construct, { alarms: false });
    }
  }
}
