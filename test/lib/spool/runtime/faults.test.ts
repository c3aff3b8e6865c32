import { afterEach, describe, expect, it, vi } from "vitest";
import { PermanentError, TransientError } from "../../../../lib/spool/runtime/errors.js";
import {
  FAULT_ATTRIBUTE,
  FAULT_RATES_ATTRIBUTE,
  FaultInjector,
  faultInjectorFromEnv,
  InjectedThrottlingError,
  isLoopbackEndpoint,
  NO_FAULTS,
  parseFaultRates,
} from "../../../../lib/spool/runtime/faults.js";
import { stringAttribute } from "../../../helpers/sqs.js";

const withDirective = (directive: string) => ({
  messageAttributes: { [FAULT_ATTRIBUTE]: stringAttribute(directive) },
});
const noDirective = { messageAttributes: {} };
const remaining = () => 5_000;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("isLoopbackEndpoint", () => {
  it.each([
    "http://127.0.0.1:4566",
    "http://localhost:4566",
    "http://localhost.localstack.cloud:4566",
    "http://sqs.us-east-1.localhost.localstack.cloud:4566",
    "http://[::1]:4566",
    "http://127.0.0.2:4566/",
  ])("is true for %s", (url) => {
    expect(isLoopbackEndpoint(url)).toBe(true);
  });

  it.each([
    "https://sqs.us-east-1.amazonaws.com",
    "http://10.0.0.5:4566",
    "http://localhost.example.com:4566",
    "http://evil-localhost.localstack.cloud.example.com",
    // DNS names that merely start like a loopback address must not unlock fault injection.
    "http://127.example.com:4566",
    "http://127.0.0.1.nip.io:4566",
    "not a url",
    "",
    undefined,
  ])("is false for %s", (url) => {
    expect(isLoopbackEndpoint(url)).toBe(false);
  });
});

describe("faultInjectorFromEnv", () => {
  it("is off without SPOOL_FAULT_INJECTION", () => {
    expect(faultInjectorFromEnv({ AWS_ENDPOINT_URL: "http://localhost:4566" })).toBeUndefined();
  });

  it("is off for any value but 'enabled'", () => {
    expect(
      faultInjectorFromEnv({
        SPOOL_FAULT_INJECTION: "true",
        AWS_ENDPOINT_URL: "http://localhost:4566",
      }),
    ).toBeUndefined();
  });

  it("stays off, loudly, when enabled against a non-loopback endpoint or none", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(
      faultInjectorFromEnv({
        SPOOL_FAULT_INJECTION: "enabled",
        AWS_ENDPOINT_URL: "https://sqs.us-east-1.amazonaws.com",
      }),
    ).toBeUndefined();
    expect(faultInjectorFromEnv({ SPOOL_FAULT_INJECTION: "enabled" })).toBeUndefined();
    expect(error).toHaveBeenCalledTimes(2);
    expect(String(error.mock.calls[0]?.[0])).toMatch(/fault injection stays off/);
  });

  it("is on with SPOOL_FAULT_INJECTION=enabled and a loopback endpoint, reading the rates", () => {
    const injector = faultInjectorFromEnv({
      SPOOL_FAULT_INJECTION: "enabled",
      AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
      SPOOL_FAULT_RATES: JSON.stringify({ transientPercent: 10, slowMs: 50 }),
    });
    expect(injector).toBeInstanceOf(FaultInjector);
    expect(injector?.rates).toEqual({ ...NO_FAULTS, transientPercent: 10, slowMs: 50 });
  });

  it("stays off in a bundle built without the injector, whatever the environment says", () => {
    // What spoolBundling's define turns `process.env.SPOOL_FAULT_INJECTION_BUNDLED` into.
    vi.stubEnv("SPOOL_FAULT_INJECTION_BUNDLED", "false");
    try {
      expect(
        faultInjectorFromEnv({
          SPOOL_FAULT_INJECTION: "enabled",
          AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
        }),
      ).toBeUndefined();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("uses no random faults when no rates are given", () => {
    const injector = faultInjectorFromEnv({
      SPOOL_FAULT_INJECTION: "enabled",
      AWS_ENDPOINT_URL: "http://localhost:4566",
    });
    expect(injector?.rates).toEqual(NO_FAULTS);
  });
});

describe("parseFaultRates", () => {
  it("returns no faults for an empty value", () => {
    expect(parseFaultRates(undefined)).toEqual(NO_FAULTS);
    expect(parseFaultRates("")).toEqual(NO_FAULTS);
  });

  it("reads every rate and defaults missing ones to 0", () => {
    expect(
      parseFaultRates(
        '{"transientPercent":5,"timeoutPercent":1,"dynamoErrorPercent":2,"slowPercent":3,"slowMs":200}',
      ),
    ).toEqual({
      transientPercent: 5,
      timeoutPercent: 1,
      dynamoErrorPercent: 2,
      slowPercent: 3,
      slowMs: 200,
    });
    expect(parseFaultRates('{"timeoutPercent":1}')).toEqual({ ...NO_FAULTS, timeoutPercent: 1 });
  });

  it("rejects a percentage of 150, naming the rate and the value", () => {
    expect(() => parseFaultRates('{"transientPercent":150}')).toThrow(
      "fault injection: transientPercent must be a percentage from 0 to 100, got 150",
    );
  });

  it("rejects negative and non-numeric rates", () => {
    expect(() => parseFaultRates('{"dynamoErrorPercent":-1}')).toThrow(/dynamoErrorPercent.*-1/);
    expect(() => parseFaultRates('{"slowPercent":"lots"}')).toThrow(/slowPercent.*lots/);
  });

  it("clamps a negative slowMs to 0", () => {
    expect(parseFaultRates('{"slowMs":-5}').slowMs).toBe(0);
  });
});

describe("FaultInjector directives", () => {
  const injector = new FaultInjector({ rates: NO_FAULTS, random: () => 0 });

  it("does nothing for a record without a directive", async () => {
    await expect(injector.beforeRecord(noDirective, 1, remaining)).resolves.toBeUndefined();
  });

  it("'transient:2' fails the first two attempts with a TransientError, then lets it through", async () => {
    for (const attempt of [1, 2]) {
      const failure = injector.beforeRecord(withDirective("transient:2"), attempt, remaining);
      await expect(failure).rejects.toBeInstanceOf(TransientError);
      await expect(
        injector.beforeRecord(withDirective("transient:2"), attempt, remaining),
      ).rejects.toMatchObject({ code: "INJECTED_TRANSIENT" });
    }
    await expect(
      injector.beforeRecord(withDirective("transient:2"), 3, remaining),
    ).resolves.toBeUndefined();
  });

  it("'transient' alone fails only the first attempt", async () => {
    await expect(injector.beforeRecord(withDirective("transient"), 1, remaining)).rejects.toThrow(
      TransientError,
    );
    await expect(
      injector.beforeRecord(withDirective("transient"), 2, remaining),
    ).resolves.toBeUndefined();
  });

  it("'permanent' fails every attempt with INJECTED_PERMANENT", async () => {
    for (const attempt of [1, 7]) {
      const failure = injector.beforeRecord(withDirective("permanent"), attempt, remaining);
      await expect(failure).rejects.toBeInstanceOf(PermanentError);
    }
    await expect(
      injector.beforeRecord(withDirective("permanent"), 1, remaining),
    ).rejects.toMatchObject({ code: "INJECTED_PERMANENT" });
  });

  it("an unknown directive is a permanent INJECTED_UNKNOWN failure", async () => {
    await expect(
      injector.beforeRecord(withDirective("explode"), 1, remaining),
    ).rejects.toMatchObject({ name: "PermanentError", code: "INJECTED_UNKNOWN" });
  });

  it("'timeout:1' sleeps past the remaining time on the first attempt only", async () => {
    const sleep = vi.fn(async (_ms: number) => undefined);
    const sleepy = new FaultInjector({ rates: NO_FAULTS, sleep });
    await sleepy.beforeRecord(withDirective("timeout:1"), 1, () => 2_500);
    expect(sleep).toHaveBeenCalledWith(3_500);
    sleep.mockClear();
    await sleepy.beforeRecord(withDirective("timeout:1"), 2, () => 2_500);
    expect(sleep).not.toHaveBeenCalled();
  });

  it("'slow:250' sleeps 250 ms", async () => {
    const sleep = vi.fn(async (_ms: number) => undefined);
    await new FaultInjector({ rates: NO_FAULTS, sleep }).beforeRecord(
      withDirective("slow:250"),
      1,
      remaining,
    );
    expect(sleep).toHaveBeenCalledWith(250);
  });

  it("applies comma-separated directives in turn", async () => {
    const both = withDirective("transient:1,slow:250");
    await expect(injector.beforeRecord(both, 1, remaining)).rejects.toMatchObject({
      code: "INJECTED_TRANSIENT",
    });
    const sleep = vi.fn(async (_ms: number) => undefined);
    await new FaultInjector({ rates: NO_FAULTS, sleep }).beforeRecord(both, 2, remaining);
    expect(sleep).toHaveBeenCalledWith(250);
  });

  it("'stall-commit:3' holds the record's transactions, from its third delivery, until 100 ms before its timeout", async () => {
    const sleep = vi.fn(async (_ms: number) => undefined);
    const stalling = new FaultInjector({ rates: NO_FAULTS, sleep });
    const record = withDirective("stall-commit:3");
    const commitIn = (attempt: number, command: string) =>
      stalling.runRecord(
        record,
        attempt,
        () => 2_500,
        () => stalling.holdCommit(command),
      );
    await commitIn(2, "TransactWriteItemsCommand");
    expect(sleep).not.toHaveBeenCalled();
    await commitIn(3, "UpdateItemCommand"); // only the commit, not the idempotency record's calls
    expect(sleep).not.toHaveBeenCalled();
    await commitIn(3, "TransactWriteItemsCommand");
    expect(sleep).toHaveBeenCalledWith(2_400);
    // Outside the record's work, nothing is held.
    sleep.mockClear();
    await stalling.holdCommit("TransactWriteItemsCommand");
    expect(sleep).not.toHaveBeenCalled();
  });
});

describe("FaultInjector random rates", () => {
  const rates = { ...NO_FAULTS, transientPercent: 30 };

  it("hits when random * 100 is below the rate", async () => {
    const injector = new FaultInjector({ rates, random: () => 0.29 });
    await expect(injector.beforeRecord(noDirective, 1, remaining)).rejects.toMatchObject({
      name: "TransientError",
      code: "INJECTED_TRANSIENT",
    });
  });

  it("misses when random * 100 is at or above the rate", async () => {
    const injector = new FaultInjector({ rates, random: () => 0.3 });
    await expect(injector.beforeRecord(noDirective, 1, remaining)).resolves.toBeUndefined();
  });

  it("never hits at rate 0, even with random 0", async () => {
    const injector = new FaultInjector({ rates: NO_FAULTS, random: () => 0 });
    await expect(injector.beforeRecord(noDirective, 1, remaining)).resolves.toBeUndefined();
    expect(() => injector.maybeFailDynamoCall()).not.toThrow();
  });

  it("times a record out and slows it by the configured rates", async () => {
    const sleep = vi.fn(async (_ms: number) => undefined);
    const injector = new FaultInjector({
      rates: { ...NO_FAULTS, timeoutPercent: 50, slowPercent: 50, slowMs: 120 },
      random: () => 0.1,
      sleep,
    });
    await injector.beforeRecord(noDirective, 1, () => 1_000);
    expect(sleep.mock.calls).toEqual([[2_000], [120]]);
  });

  it("fails DynamoDB calls with a throttling error at the configured rate", () => {
    const hit = new FaultInjector({
      rates: { ...NO_FAULTS, dynamoErrorPercent: 50 },
      random: () => 0.49,
    });
    expect(() => hit.maybeFailDynamoCall()).toThrow(InjectedThrottlingError);
    try {
      hit.maybeFailDynamoCall();
    } catch (error) {
      expect((error as Error).name).toBe("ProvisionedThroughputExceededException");
    }
    const miss = new FaultInjector({
      rates: { ...NO_FAULTS, dynamoErrorPercent: 50 },
      random: () => 0.5,
    });
    expect(() => miss.maybeFailDynamoCall()).not.toThrow();
  });
});

describe("time-boxed rates (untilEpochMs): a dependency degraded for a window", () => {
  const storm = {
    messageAttributes: {
      [FAULT_RATES_ATTRIBUTE]: stringAttribute(
        JSON.stringify({ ...NO_FAULTS, transientPercent: 100, untilEpochMs: 10_000 }),
      ),
    },
  };

  it("applies the rates before the window ends", async () => {
    const injector = new FaultInjector({ rates: NO_FAULTS, now: () => 9_999 });
    await expect(injector.beforeRecord(storm, 1, remaining)).rejects.toBeInstanceOf(TransientError);
  });

  it("runs the record clean once the window has ended", async () => {
    const injector = new FaultInjector({ rates: NO_FAULTS, now: () => 10_000 });
    await expect(injector.beforeRecord(storm, 1, remaining)).resolves.toBeUndefined();
    expect(injector.ratesFor(storm)).toEqual(NO_FAULTS);
  });

  it("rejects an end that is not a number", () => {
    expect(() => parseFaultRates('{"untilEpochMs":"soon"}')).toThrow(/untilEpochMs.*soon/);
  });
});
