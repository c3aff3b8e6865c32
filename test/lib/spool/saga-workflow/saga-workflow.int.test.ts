import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { describe, expect, it } from "vitest";
import {
  fulfilmentJobId,
  fulfilmentSagaInput,
} from "../../../../lambdas/fulfilment-starter/start-fulfilment.js";
import { notificationIdFor } from "../../../../lambdas/fulfilment-steps/steps.js";
import {
  IllegalJobTransitionError,
  transitionJob,
} from "../../../../lib/spool/job-table/runtime/jobs.js";
import {
  bodyOf,
  config,
  ddb,
  functionLogLines,
  getItem,
  lacks,
  logs,
  output,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";
import {
  executionArnOf,
  finishedExecution,
  jobOf,
  journalOf,
  newOrder,
  outcomeOf,
  placeOrder,
  STOCK,
  seedStock,
  sendOrder,
  sfn,
  startDirectly,
  stockOf,
  tasksOf,
  visitOf,
  waitForJob,
  whatHappened,
} from "../../../helpers/workflows.js";

const STEPS = ["reserveInventory", "chargePayment", "confirmOrder", "notifyCustomer"] as const;
const EFFECTS = ["reserveInventory", "chargePayment", "confirmOrder", "notifyCustomer"];
const UNDO_EFFECT: Record<string, string> = {
  reserveInventory: "releaseInventory",
  chargePayment: "refundPayment",
  confirmOrder: "cancelOrder",
};
/** Matches the test deployment's step retry policy (lib/example/parts/workflows.ts). */
const TEST_MAX_RETRIES = 3;
const transitions = (job: { transitions: { status: string }[] }) =>
  job.transitions.map((t) => t.status);

describe.concurrent("order fulfilment saga", () => {
  it("fulfils an order: job SUCCEEDED, each effect once, the notification delivered", async () => {
    const order = newOrder();
    const correlationId = uniqueId("corr");
    const sent = await placeOrder(order, correlationId);

    const job = await waitForJob(order.orderId);
    expect(job).toMatchObject({
      status: "SUCCEEDED",
      kind: "order-fulfilment",
      businessKey: order.orderId,
      correlationId,
      messageId: sent.MessageId,
      executionArn: executionArnOf(order.orderId),
      attempts: 1,
    });
    expect(transitions(job)).toEqual(["PENDING", "RUNNING", "SUCCEEDED"]);
    expect(job.finishedAt && job.startedAt && job.finishedAt >= job.startedAt).toBe(true);
    expect(await journalOf(order.orderId)).toEqual(EFFECTS);
    expect(await stockOf(`sku-${order.orderId}`)).toBe(STOCK - 2);
    const payment = await getItem(output("EffectsTableName"), {
      pk: `order#${order.orderId}`,
      sk: "payment",
    });
    expect(payment).toMatchObject({
      status: "CHARGED",
      idempotencyKey: `payment:${order.orderId}`,
      amountCents: 4_200,
    });
    // The notifications consumer delivered it, with the order's correlation id.
    const delivery = await waitFor(
      () =>
        getItem(output("EffectsTableName"), {
          pk: `notification#${notificationIdFor(order.orderId)}`,
          sk: "delivery",
        }),
      { what: "the order-confirmed notification" },
    );
    expect(delivery).toMatchObject({ recipient: order.customerEmail, correlationId });

    const execution = await finishedExecution(order.orderId);
    expect(execution.status).toBe("SUCCEEDED");
    expect(tasksOf(execution)).toEqual([...STEPS]);
  });

  it.each(STEPS)(
    "retries a transient failure in %s and still succeeds, effects once",
    async (step) => {
      const order = newOrder({ faults: { [step]: "transient:2" } });
      await placeOrder(order);
      const job = await waitForJob(order.orderId);
      expect(job.status).toBe("SUCCEEDED");
      const execution = await finishedExecution(order.orderId);
      const visit = visitOf(execution, step);
      expect(visit.failures).toHaveLength(2);
      expect(visit.failures[0]?.cause).toContain("injected transient failure 1 of 2");
      expect(tasksOf(execution)).toEqual([...STEPS]);
      // Retried steps did their effect once: the retries were of attempts that failed before it.
      expect(await journalOf(order.orderId)).toEqual(EFFECTS);
    },
  );

  it.each(STEPS)(
    "a permanent failure in %s undoes exactly the completed steps, newest first, once each",
    async (step) => {
      const order = newOrder({ faults: { [step]: "permanent" } });
      await placeOrder(order);
      const job = await waitForJob(order.orderId);
      const index = STEPS.indexOf(step);
      const completed = STEPS.slice(0, index);
      const undone = completed.filter((s) => s in UNDO_EFFECT).reverse();

      expect(job.status).toBe("COMPENSATED");
      expect(transitions(job)).toEqual(["PENDING", "RUNNING", "COMPENSATING", "COMPENSATED"]);
      expect(job.lastError).toMatchObject({
        step,
        kind: "failed",
        error: "INJECTED_PERMANENT",
        cause: "injected permanent failure",
      });
      // The journal holds each effect made, once: the completed steps, then their undoing.
      expect(await journalOf(order.orderId)).toEqual([
        ...completed,
        ...undone.map((s) => UNDO_EFFECT[s]),
      ]);
      expect(await stockOf(`sku-${order.orderId}`)).toBe(STOCK);

      const execution = await finishedExecution(order.orderId);
      expect(execution).toMatchObject({ status: "FAILED", error: "COMPENSATED" });
      expect(visitOf(execution, step).failures).toEqual([]); // returned, not thrown: no retry
      // A failed step may have made part of its effect, so its own compensation runs first
      // (finding nothing to undo here), then those of the completed steps, newest first.
      const ownUndo = step in UNDO_EFFECT ? [`Undo ${step}`] : [];
      expect(tasksOf(execution)).toEqual([
        ...completed,
        step,
        ...ownUndo,
        ...undone.map((s) => `Undo ${s}`),
      ]);
      if (ownUndo.length) {
        expect(outcomeOf(execution, `Undo ${step}`).outcome).toBe("nothing-to-undo");
      }
      for (const s of undone) expect(outcomeOf(execution, `Undo ${s}`).outcome).toBe("compensated");
    },
  );

  it("a declined payment is a business outcome: not retried, only the reservation undone", async () => {
    const order = newOrder({ amountCents: 250_000 });
    await placeOrder(order);
    const job = await waitForJob(order.orderId);
    expect(job.status).toBe("COMPENSATED");
    expect(job.lastError).toMatchObject({
      step: "chargePayment",
      kind: "rejected",
      error: "PAYMENT_DECLINED",
    });
    expect(await journalOf(order.orderId)).toEqual(["reserveInventory", "releaseInventory"]);
    const execution = await finishedExecution(order.orderId);
    expect(visitOf(execution, "chargePayment").failures).toEqual([]);
    expect(tasksOf(execution)).toEqual([
      "reserveInventory",
      "chargePayment",
      "Undo reserveInventory",
    ]);

    // "What happened to this order?" from the job-query Lambda: one timeline.
    const report = await whatHappened(order.orderId);
    expect(report.job?.status).toBe("COMPENSATED");
    expect(report.execution?.status).toBe("FAILED");
    expect(report.timeline.map((e) => `${e.event}${e.detail ? ` (${e.detail})` : ""}`)).toEqual([
      "PENDING (starter)",
      "RUNNING (workflow)",
      "reserveInventory (ok)",
      "chargePayment (rejected PAYMENT_DECLINED)",
      "COMPENSATING (workflow)",
      "Undo reserveInventory (compensated)",
      "COMPENSATED (workflow)",
      "execution FAILED (COMPENSATED)",
    ]);
  });

  it("an order larger than the stock is rejected at the first step and undoes nothing", async () => {
    const order = newOrder();
    await seedStock(order, 1);
    await sendOrder(order);
    const job = await waitForJob(order.orderId);
    expect(job.status).toBe("COMPENSATED");
    expect(job.lastError).toMatchObject({ step: "reserveInventory", error: "OUT_OF_STOCK" });
    expect(job.lastError?.cause).toContain(`sku-${order.orderId} (×2)`);
    expect(await journalOf(order.orderId)).toEqual([]);
    expect(await stockOf(`sku-${order.orderId}`)).toBe(1);
  });

  it("a step that keeps failing is retried a bounded number of times, then compensated", async () => {
    const order = newOrder({ faults: { confirmOrder: "transient:99" } });
    await placeOrder(order);
    const job = await waitForJob(order.orderId);
    expect(job.status).toBe("COMPENSATED");
    expect(job.lastError).toMatchObject({ step: "confirmOrder", kind: "error" });
    const execution = await finishedExecution(order.orderId);
    expect(visitOf(execution, "confirmOrder").failures).toHaveLength(1 + TEST_MAX_RETRIES);
    expect(await journalOf(order.orderId)).toEqual([
      "reserveInventory",
      "chargePayment",
      "refundPayment",
      "releaseInventory",
    ]);
  });

  it("a compensation that fails transiently is retried and still undoes once", async () => {
    const order = newOrder({
      faults: { confirmOrder: "permanent", "chargePayment.compensation": "transient:2" },
    });
    await placeOrder(order);
    const job = await waitForJob(order.orderId);
    expect(job.status).toBe("COMPENSATED");
    const execution = await finishedExecution(order.orderId);
    expect(visitOf(execution, "Undo chargePayment").failures).toHaveLength(2);
    expect(await journalOf(order.orderId)).toEqual([
      "reserveInventory",
      "chargePayment",
      "refundPayment",
      "releaseInventory",
    ]);
  });

  it("a compensation that keeps failing ends the job FAILED for an operator", async () => {
    const order = newOrder({
      faults: { confirmOrder: "permanent", "chargePayment.compensation": "transient:99" },
    });
    await placeOrder(order);
    const job = await waitForJob(order.orderId);
    expect(job.status).toBe("FAILED");
    expect(transitions(job)).toEqual(["PENDING", "RUNNING", "COMPENSATING", "FAILED"]);
    expect(job.lastError).toMatchObject({ step: "chargePayment", kind: "compensation" });
    const execution = await finishedExecution(order.orderId);
    expect(execution).toMatchObject({ status: "FAILED", error: "COMPENSATION_FAILED" });
    // The saga stopped at the compensation it could not do: the payment is still charged.
    expect(await journalOf(order.orderId)).toEqual(["reserveInventory", "chargePayment"]);
    expect(tasksOf(execution)).not.toContain("Undo reserveInventory");
  });

  it("duplicate start messages yield one execution and one set of effects", async () => {
    const order = newOrder();
    await seedStock(order);
    await Promise.all([sendOrder(order), sendOrder(order), sendOrder(order)]);
    await waitForJob(order.orderId);
    // Resent later by a producer that lost track, with a new correlation id: same order.
    await sendOrder(order, uniqueId("corr-late"));
    const lines = await waitFor(
      async () => {
        const found = await functionLogLines(
          output("FulfilmentStarterFunctionName"),
          order.orderId,
        );
        const started = found.filter((l) => l.message === "workflow started");
        const duplicates = found.filter((l) => l.message === "duplicate start suppressed");
        return started.length + duplicates.length >= 4 ? { started, duplicates } : undefined;
      },
      // A liveness bound, not a timing claim: a start that meets another's lease, or is given up
      // at its record deadline, comes back no sooner than that lease (5 s here), and with IAM
      // evaluation on (CI's second pass) the emulator answers slower still.
      { what: "four start requests handled", timeoutMs: 90_000 },
    );
    expect(lines.started).toHaveLength(1);
    expect(lines.duplicates).toHaveLength(3);
    const job = await jobOf(order.orderId);
    expect(job).toMatchObject({ status: "SUCCEEDED", attempts: 1 });
    expect(transitions(job as never)).toEqual(["PENDING", "RUNNING", "SUCCEEDED"]);
    expect(await journalOf(order.orderId)).toEqual(EFFECTS);
  });

  it("dead-letters an order id reused for a different order, leaving the first order's job alone", async () => {
    const order = newOrder();
    await placeOrder(order);
    const first = await waitForJob(order.orderId);
    const impostor = { ...order, amountCents: 9_999 };
    await sendOrder(impostor);
    const [letter] = await takeDeadLetters(
      output("FulfilmentDeadLetterQueueUrl"),
      (m) => m.Body?.includes(order.orderId) ?? false,
      1,
    );
    expect(bodyOf(letter?.message ?? {})).toMatchObject({ amountCents: 9_999 });
    expect(letter?.metadata).toMatchObject({
      reason: "permanent-failure",
      errorCode: "EXECUTION_NAME_REUSED",
      attempts: 1,
      consumer: "fulfilment-starter",
    });
    expect(letter?.metadata?.errorMessage).toContain("already exists for different work");
    expect(await jobOf(order.orderId)).toEqual(first);
  });

  it("dead-letters a malformed request with its job DEAD_LETTERED; the fixed request runs", async () => {
    const fixed = newOrder();
    const { customerEmail: _dropped, ...order } = fixed;
    await sendOrder(order);
    const [letter] = await takeDeadLetters(
      output("FulfilmentDeadLetterQueueUrl"),
      (m) => m.Body?.includes(order.orderId) ?? false,
      1,
    );
    expect(letter?.metadata?.errorCode).toBe("SCHEMA_INVALID");
    const job = await waitForJob(order.orderId, ["DEAD_LETTERED"]);
    expect(job).toMatchObject({
      kind: "order-fulfilment",
      lastError: { error: "SCHEMA_INVALID", kind: "permanent-failure" },
      messageId: letter?.metadata?.messageId,
    });
    expect(job.executionArn).toBeUndefined();

    // Replayed after the producer's fix: the same order id is PENDING again, then fulfilled.
    await placeOrder(fixed);
    const done = await waitForJob(order.orderId, ["SUCCEEDED", "COMPENSATED", "FAILED"]);
    expect(done.status).toBe("SUCCEEDED");
    expect(transitions(done)).toEqual(["DEAD_LETTERED", "PENDING", "RUNNING", "SUCCEEDED"]);
  });

  it("retries a start that fails transiently, and the job shows it", async () => {
    const order = newOrder({ faults: { start: "transient:1" } });
    await placeOrder(order);
    const job = await waitForJob(order.orderId);
    expect(job.status).toBe("SUCCEEDED");
    expect(transitions(job)).toEqual(["PENDING", "RETRYING", "RUNNING", "SUCCEEDED"]);
    expect(job.attempts).toBe(2);
    expect(job.lastError).toMatchObject({ kind: "start" });
    expect(job.lastError?.cause).toContain("injected transient failure 1 of 1");
  });

  it("never runs a finished job again, from the state machine or from code", async () => {
    const order = newOrder();
    await placeOrder(order);
    const done = await waitForJob(order.orderId);
    expect(done.status).toBe("SUCCEEDED");

    const again = `${order.orderId}-again`;
    await startDirectly(again, fulfilmentSagaInput(order, "corr-again", false));
    const execution = await finishedExecution(again);
    expect(execution).toMatchObject({ status: "FAILED", error: "JOB_NOT_RUNNABLE" });
    expect(tasksOf(execution)).toEqual([]);

    const store = { db: ddb, table: output("JobsTableName") };
    await expect(
      transitionJob(store, {
        jobId: fulfilmentJobId(order.orderId),
        to: "RUNNING",
        by: "operator",
      }),
    ).rejects.toThrow(IllegalJobTransitionError);
    expect(await jobOf(order.orderId)).toEqual(done);
    expect(await journalOf(order.orderId)).toEqual(EFFECTS);
  });

  it("records a stopped execution's job CANCELED, through the status listener", async () => {
    const order = newOrder();
    await seedStock(order);
    const input = fulfilmentSagaInput(order, uniqueId("corr"), true);
    await startDirectly(order.orderId, { ...input, faults: { reserveInventory: "slow:3000" } });
    await waitForJob(order.orderId, ["RUNNING"]);
    await sfn.send(new StopExecutionCommand({ executionArn: executionArnOf(order.orderId) }));
    const job = await waitForJob(order.orderId, ["CANCELED"], 30_000);
    expect(job.transitions.at(-1)).toMatchObject({ status: "CANCELED", by: "status-sync" });
    expect(job.lastError).toMatchObject({ error: "execution ABORTED", kind: "execution" });
  });

  it("fails an execution whose input lacks its fields, before any step", async () => {
    const name = uniqueId("bad-input");
    await startDirectly(name, { request: {} });
    const execution = await finishedExecution(name);
    expect(execution).toMatchObject({ status: "FAILED", error: "INVALID_INPUT" });
    expect(tasksOf(execution)).toEqual([]);
  });

  it("deploys logging ALL, tracing and the failed and timed-out alarms", async () => {
    const machine = await sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: output("FulfilmentStateMachineArn") }),
    );
    expect(machine.type).toBe("STANDARD");
    expect(machine.loggingConfiguration).toMatchObject({
      level: "ALL",
      includeExecutionData: true,
    });
    expect(JSON.stringify(machine.loggingConfiguration?.destinations)).toContain(
      output("FulfilmentLogGroupName"),
    );
    const cloudwatch = new CloudWatchClient(config);
    const { MetricAlarms = [] } = await cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNames: [output("FulfilmentFailedAlarmName"), output("FulfilmentTimedOutAlarmName")],
      }),
    );
    expect(MetricAlarms.map((a) => a.MetricName).sort()).toEqual([
      "ExecutionsFailed",
      "ExecutionsTimedOut",
    ]);
    for (const alarm of MetricAlarms) {
      expect(alarm.Namespace).toBe("AWS/States");
      expect(alarm.Dimensions).toEqual([
        { Name: "StateMachineArn", Value: output("FulfilmentStateMachineArn") },
      ]);
    }
  });

  it.skipIf(
    lacks(
      "ministack",
      "Step Functions writes no execution logs (LoggingConfiguration is stored only)",
    ),
  )("writes execution logs to the log group", async () => {
    const order = newOrder();
    await placeOrder(order);
    await waitForJob(order.orderId);
    const events = await waitFor(
      async () => {
        const page = await logs.send(
          new FilterLogEventsCommand({
            logGroupName: output("FulfilmentLogGroupName"),
            filterPattern: `"${order.orderId}"`,
          }),
        );
        return page.events?.length ? page.events : undefined;
      },
      { what: "execution log events" },
    );
    expect(events.length).toBeGreaterThan(0);
  });

  it.skipIf(
    lacks(
      "ministack",
      "Step Functions never ends an execution TIMED_OUT (TimeoutSeconds is not enforced)",
    ),
  )("records a timed-out execution's job FAILED", async () => {
    const order = newOrder();
    await seedStock(order);
    const input = fulfilmentSagaInput(order, uniqueId("corr"), true);
    // Every attempt outlives the function: the retries outlast the test deployment's timeout.
    await startDirectly(order.orderId, { ...input, faults: { reserveInventory: "timeout:99" } });
    const job = await waitForJob(order.orderId, ["FAILED"], 120_000);
    expect(job.lastError).toMatchObject({ error: "execution TIMED_OUT" });
    const described = await sfn.send(
      new DescribeExecutionCommand({ executionArn: executionArnOf(order.orderId) }),
    );
    expect(described.status).toBe("TIMED_OUT");
  });
});
