import { Logger } from "@aws-lambda-powertools/logger";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { PermanentError, TransientError } from "../../../../../lib/spool/runtime/errors.js";
import { FaultInjector, NO_FAULTS } from "../../../../../lib/spool/runtime/faults.js";
import {
  createSagaStepHandler,
  type SagaStepPayload,
  type StepContext,
} from "../../../../../lib/spool/saga-workflow/runtime/saga-step.js";

const Request = z.object({ orderId: z.string() });
type Request = z.infer<typeof Request>;
const logger = new Logger({ logLevel: "SILENT" });
const seen: { request: Request; ctx: StepContext }[] = [];

function handler(faults?: FaultInjector) {
  return createSagaStepHandler<Request>(
    {
      schema: Request,
      actions: {
        reserve: async (request, ctx) => {
          seen.push({ request, ctx });
          return { outcome: "ok", reserved: 1 };
        },
        charge: async () => {
          throw new PermanentError("card expired", { code: "CARD_EXPIRED" });
        },
        flaky: async () => {
          throw new TransientError("timeout", { code: "TIMEOUT" });
        },
        decline: async () => ({ outcome: "rejected", code: "PAYMENT_DECLINED", reason: "no" }),
      },
      compensations: {
        reserve: async () => ({ outcome: "compensated" }),
        charge: async () => {
          throw new PermanentError("refund refused", { code: "REFUND_REFUSED" });
        },
      },
    },
    { faults, logger },
  );
}

function payload(
  step: string,
  overrides: Partial<SagaStepPayload<unknown>> = {},
): SagaStepPayload<unknown> {
  return {
    step,
    phase: "action",
    jobId: "order-fulfilment:o-1",
    correlationId: "corr-1",
    request: { orderId: "o-1" },
    results: {},
    execution: "arn:aws:states:us-east-1:1:execution:sm:o-1",
    retryCount: 0,
    ...overrides,
  };
}

const injector = () => new FaultInjector({ rates: NO_FAULTS, sleep: async () => {} });

describe("saga step handler", () => {
  it("runs the action with the request and the step's context", async () => {
    seen.length = 0;
    const result = await handler()(payload("reserve", { retryCount: 2, results: { a: 1 } }));
    expect(result).toEqual({ outcome: "ok", reserved: 1 });
    expect(seen[0]?.request).toEqual({ orderId: "o-1" });
    expect(seen[0]?.ctx).toMatchObject({
      step: "reserve",
      phase: "action",
      attempt: 3,
      correlationId: "corr-1",
      jobId: "order-fulfilment:o-1",
      results: { a: 1 },
    });
  });

  it("returns a business rejection as it is", async () => {
    expect(await handler()(payload("decline"))).toEqual({
      outcome: "rejected",
      code: "PAYMENT_DECLINED",
      reason: "no",
    });
  });

  it("returns a permanent error of an action as a failed outcome, so it is never retried", async () => {
    expect(await handler()(payload("charge"))).toEqual({
      outcome: "failed",
      code: "CARD_EXPIRED",
      reason: "card expired",
    });
  });

  it("throws transient errors for the state machine to retry", async () => {
    await expect(handler()(payload("flaky"))).rejects.toThrow(TransientError);
  });

  it("throws every compensation error: a compensation must end up done", async () => {
    await expect(handler()(payload("charge", { phase: "compensation" }))).rejects.toThrow(
      "refund refused",
    );
    expect(await handler()(payload("reserve", { phase: "compensation" }))).toEqual({
      outcome: "compensated",
    });
  });

  it("answers a broken payload, an unknown step and a bad request as failed actions", async () => {
    expect(await handler()({ step: "reserve" })).toMatchObject({
      outcome: "failed",
      code: "INVALID_PAYLOAD",
    });
    expect(await handler()(payload("ship"))).toMatchObject({
      outcome: "failed",
      code: "UNKNOWN_STEP",
    });
    expect(await handler()(payload("reserve", { request: { orderId: 7 } }))).toMatchObject({
      outcome: "failed",
      code: "INVALID_REQUEST",
    });
    await expect(handler()({ phase: "compensation" })).rejects.toThrow("payload is invalid");
  });

  it("applies fault directives by attempt when fault injection is on", async () => {
    const faults = { reserve: "transient:2", "reserve.compensation": "permanent" };
    const h = handler(injector());
    await expect(h(payload("reserve", { faults, retryCount: 0 }))).rejects.toThrow(
      "injected transient failure 1 of 2",
    );
    await expect(h(payload("reserve", { faults, retryCount: 1 }))).rejects.toThrow(
      "injected transient failure 2 of 2",
    );
    expect(await h(payload("reserve", { faults, retryCount: 2 }))).toMatchObject({ outcome: "ok" });
    await expect(h(payload("reserve", { faults, phase: "compensation" }))).rejects.toThrow(
      "injected permanent failure",
    );
    expect(await h(payload("reserve", { faults: { reserve: "permanent" } }))).toMatchObject({
      outcome: "failed",
      code: "INJECTED_PERMANENT",
    });
    expect(await h(payload("reserve", { faults: { reserve: "rejected" } }))).toMatchObject({
      outcome: "rejected",
      code: "INJECTED_REJECTION",
    });
  });

  it("ignores fault directives when fault injection is off", async () => {
    expect(await handler()(payload("reserve", { faults: { reserve: "permanent" } }))).toMatchObject(
      { outcome: "ok" },
    );
  });
});
