import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { effectsTable, SET_BY_STACK } from "../../lambdas/env.js";
import { ConfigurationError } from "../../lib/spool/runtime/env.js";

/**
 * A handler reads its configuration when its module loads (Lambda's init), so a variable the
 * stack did not write fails there, naming it, before any message is taken and misclassified.
 */
describe("the example handlers' configuration", () => {
  beforeEach(() => {
    vi.resetModules();
    vi.stubEnv("AWS_REGION", "us-east-1");
    for (const name of ["EFFECTS_TABLE", "NOTIFICATIONS_QUEUE_URL", "JOBS_TABLE"]) {
      vi.stubEnv(name, undefined);
    }
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("fails a consumer's init naming the missing variable and who writes it", async () => {
    const loading = import("../../lambdas/notifications/handler.js");
    // By name: the module registry is reset, so the class is a fresh copy of the imported one.
    await expect(loading).rejects.toMatchObject({ name: new ConfigurationError("").name });
    await expect(loading).rejects.toThrow(
      `EFFECTS_TABLE is not set (it is written by ${SET_BY_STACK})`,
    );
  });

  it("fails a saga step function's init on the first variable missing, by name", async () => {
    vi.stubEnv("EFFECTS_TABLE", "effects");
    await expect(import("../../lambdas/fulfilment-steps/handler.js")).rejects.toThrow(
      /^NOTIFICATIONS_QUEUE_URL is not set/,
    );
  });

  it("treats an empty variable as missing", async () => {
    vi.stubEnv("JOBS_TABLE", "");
    await expect(import("../../lambdas/job-query/handler.js")).rejects.toThrow(
      /^JOBS_TABLE is not set/,
    );
  });

  it("loads once the stack's variables are there", async () => {
    vi.stubEnv("EFFECTS_TABLE", "effects");
    const { handler } = await import("../../lambdas/notifications/handler.js");
    expect(handler).toBeTypeOf("function");
    expect(effectsTable({ EFFECTS_TABLE: "effects" })).toBe("effects");
  });
});
