import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  breakerPolicy,
  openDependencyRetryAfter,
} from "../../../../lib/spool/runtime/breaker-policy.js";
import {
  type BreakerOptions,
  type DependencyBreaker,
  dependencyBreaker,
} from "../../../../lib/spool/runtime/circuit-breaker.js";
import { ConfigurationError } from "../../../../lib/spool/runtime/env.js";
import { classify, PermanentError, TransientError } from "../../../../lib/spool/runtime/errors.js";
import { type FakeBreakerTable, fakeBreakerTable } from "../../../helpers/fake-breaker-table.js";

const dynamoMock = mockClient(DynamoDBClient);
const T0 = 1_714_557_600_000;
const ID = "orders#breaker#provider";
const OPTIONS: BreakerOptions = { failureThreshold: 3, window: 10, coolDown: 20 };

let table: FakeBreakerTable;
let clock: number;
let metrics: string[];
/** Metrics published on their own, with their dimensions (the alarm's `BreakerOpen`). */
let signals: string[];

beforeEach(() => {
  dynamoMock.reset();
  table = fakeBreakerTable(dynamoMock);
  clock = T0;
  metrics = [];
  signals = [];
});

/** One container's breaker: each call of this makes another "invocation" sharing the table. */
function container(options: BreakerOptions = OPTIONS): DependencyBreaker {
  return dependencyBreaker("provider", options, {
    dynamo: new DynamoDBClient({}),
    metrics: {
      addMetric: (name: string) => void metrics.push(name),
      singleMetric: () => {
        const dimensions: string[] = [];
        return {
          addDimension: (key: string, value: string) => void dimensions.push(`${key}=${value}`),
          addMetric: (name: string) => void signals.push(`${name}[${dimensions.join(",")}]`),
        };
      },
    },
    logger: new Logger({ logLevel: "SILENT" }),
    now: () => new Date(clock),
    config: { consumerName: "orders", idempotencyTable: "idempotency" },
  });
}

const down = () => Promise.reject(new TransientError("503 from the provider"));
const up = () => Promise.resolve("sent");

/** The error a call ends with (the test fails if it resolves). */
async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("the call resolved");
}

function expectOpenError(error: unknown, retryAfterSeconds: number) {
  expect(classify(error)).toMatchObject({
    kind: "transient",
    code: "DEPENDENCY_OPEN",
    details: { dependency: "provider", retryAfterSeconds },
  });
  expect(openDependencyRetryAfter(error)).toBe(retryAfterSeconds);
}

async function openIt(breaker = container()) {
  for (let i = 0; i < 3; i++) await errorOf(breaker.call(down));
  expect(table.state(ID)).toBe("open");
}

describe("a closed breaker", () => {
  it("calls through and writes nothing on success", async () => {
    const b = container();
    await expect(b.call(up)).resolves.toBe("sent");
    expect(dynamoMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
    expect(dynamoMock.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: "idempotency",
      Key: { id: { S: ID } },
      ConsistentRead: true,
    });
  });

  it("opens at the threshold within the window, once, and stops calling the dependency", async () => {
    const b = container();
    const fn = vi.fn(down);
    for (let i = 0; i < 2; i++) {
      const error = await errorOf(b.call(fn));
      expect((error as Error).message).toBe("503 from the provider"); // passed on as it is
      clock += 4000;
    }
    expect(table.state(ID)).toBeUndefined();
    expect(table.num(ID, "failures")).toBe(2);
    // The third, 8 s after the first: it opens the breaker, so its record waits the cool-down
    // out like the ones that follow (the dependency's error is the cause).
    const opening = await errorOf(b.call(fn));
    expectOpenError(opening, 20);
    expect(((opening as Error).cause as Error).message).toBe("503 from the provider");
    expect(table.state(ID)).toBe("open");
    expect(table.num(ID, "openUntil")).toBe(clock + 20_000);
    expect(table.num(ID, "gen")).toBe(1);
    expect(metrics).toEqual(["BreakerOpened"]);
    expect(table.writes.map((w) => w.name)).toEqual([
      "startWindow",
      "addFailure",
      "addFailure",
      "open",
    ]);

    const rejected = await errorOf(b.call(fn));
    expectOpenError(rejected, 20);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(metrics).toEqual(["BreakerOpened", "BreakerRejected"]);
    // Both signal the open breaker to its alarm, by the dependency's name.
    expect(signals).toEqual([
      "BreakerOpen[dependency=provider]",
      "BreakerOpen[dependency=provider]",
    ]);
  });

  it("does not count failures outside the window: a new window starts with the next one", async () => {
    const b = container();
    await errorOf(b.call(down));
    await errorOf(b.call(down));
    clock += 10_000; // the window (10 s from the first failure) has ended
    await errorOf(b.call(down));
    await errorOf(b.call(down));
    expect(table.state(ID)).toBeUndefined();
    expect(table.num(ID, "failures")).toBe(2);
    expect(table.num(ID, "windowEnd")).toBe(clock + 10_000);
    await errorOf(b.call(down));
    expect(table.state(ID)).toBe("open");
  });

  it("does not count permanent errors: the dependency answered", async () => {
    const b = container();
    const reject = () => Promise.reject(new PermanentError("address refused"));
    for (let i = 0; i < 5; i++) await errorOf(b.call(reject));
    expect(table.writes).toEqual([]);
    expect(table.state(ID)).toBeUndefined();
  });

  it("counts what isFailure says counts", async () => {
    const b = container({ ...OPTIONS, isFailure: (e) => (e as Error).message === "slow" });
    for (let i = 0; i < 3; i++) await errorOf(b.call(down));
    expect(table.writes).toEqual([]);
    for (let i = 0; i < 3; i++) await errorOf(b.call(() => Promise.reject(new Error("slow"))));
    expect(table.state(ID)).toBe("open");
  });
});

describe("an open breaker", () => {
  it("fails fast with the cool-down left, in every container, without calling", async () => {
    await openIt();
    clock += 6_500;
    const other = container(); // another invocation's container
    const fn = vi.fn(up);
    expectOpenError(await errorOf(other.call(fn)), 14);
    expect(fn).not.toHaveBeenCalled();
  });

  it("skips the read in a container that has seen it open until the cool-down ends", async () => {
    const b = container();
    await openIt(b);
    const reads = dynamoMock.commandCalls(GetItemCommand).length;
    await errorOf(b.call(up));
    await errorOf(b.call(up));
    expect(dynamoMock.commandCalls(GetItemCommand)).toHaveLength(reads);
  });
});

describe("a half-open breaker", () => {
  it("lets at most halfOpenProbes calls through across invocations", async () => {
    await openIt(container({ ...OPTIONS, halfOpenProbes: 2 }));
    clock += 20_000;
    const pending: (() => void)[] = [];
    const slow = vi.fn(() => new Promise<string>((resolve) => pending.push(() => resolve("ok"))));
    const calls = [1, 2, 3, 4].map(() => container({ ...OPTIONS, halfOpenProbes: 2 }).call(slow));
    const outcomes = Promise.allSettled(calls);
    await vi.waitFor(() => expect(slow).toHaveBeenCalledTimes(2));
    for (const finish of pending) finish();
    const settled = await outcomes;
    expect(settled.map((o) => o.status).sort()).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
    ]);
    for (const outcome of settled.filter((o) => o.status === "rejected")) {
      expect(outcome.status).toBe("rejected");
      // The probes' lease: a cool-down from when the slot opened.
      expectOpenError((outcome as PromiseRejectedResult).reason, 20);
    }
    expect(slow).toHaveBeenCalledTimes(2);
    expect(table.state(ID)).toBe("closed");
  });

  it("closes on a probe's success", async () => {
    await openIt();
    clock += 20_000;
    await expect(container().call(up)).resolves.toBe("sent");
    expect(table.state(ID)).toBe("closed");
    expect(metrics.at(-1)).toBe("BreakerClosed");
    // Closed again: calls go through, failures count from zero.
    await errorOf(container().call(down));
    expect(table.num(ID, "failures")).toBe(1);
  });

  it("closes on a permanent error from the probe: the dependency answered", async () => {
    await openIt();
    clock += 20_000;
    await errorOf(container().call(() => Promise.reject(new PermanentError("bad request"))));
    expect(table.state(ID)).toBe("closed");
  });

  it("opens again for another cool-down when the probe fails", async () => {
    await openIt();
    clock += 25_000;
    const error = await errorOf(container().call(down));
    expectOpenError(error, 20);
    expect(((error as Error).cause as Error).message).toBe("503 from the provider");
    expect(table.state(ID)).toBe("open");
    expect(table.num(ID, "gen")).toBe(2);
    expect(table.num(ID, "openUntil")).toBe(clock + 20_000);
    expect(metrics.filter((m) => m === "BreakerOpened")).toHaveLength(2);
    expectOpenError(await errorOf(container().call(up)), 20);
  });

  it("takes probes that never report as failed after a cool-down, and probes again after the next", async () => {
    await openIt();
    clock += 20_000;
    const never = container().call(() => new Promise<string>(() => {})); // its invocation died
    await vi.waitFor(() => expect(table.num(ID, "probes")).toBe(1));
    clock += 19_000;
    expectOpenError(await errorOf(container().call(up)), 1);
    clock += 1_000;
    expectOpenError(await errorOf(container().call(up)), 20); // opened again
    expect(table.num(ID, "gen")).toBe(2);
    clock += 20_000;
    await expect(container().call(up)).resolves.toBe("sent");
    expect(table.state(ID)).toBe("closed");
    void never;
  });

  it("ignores a late probe of an earlier opening", async () => {
    await openIt();
    clock += 20_000;
    let finishLate: () => void = () => {};
    const late = container().call(() => new Promise<string>((r) => (finishLate = () => r("ok"))));
    await vi.waitFor(() => expect(table.num(ID, "probes")).toBe(1));
    clock += 20_000;
    await errorOf(container().call(up)); // the lost-probe rule opens it again (gen 2)
    finishLate();
    await late;
    expect(table.state(ID)).toBe("open");
    expect(table.num(ID, "gen")).toBe(2);
  });
});

describe("contention on the conditional writes", () => {
  it("opens once when two invocations reach the threshold together", async () => {
    const [a, b] = [container(), container()];
    await errorOf(a.call(down));
    await errorOf(b.call(down));
    // Both read closed, then both fail: one write makes the third failure and opens it.
    const first = a.call(down);
    const second = b.call(down);
    await Promise.allSettled([first, second]);
    expect(table.state(ID)).toBe("open");
    expect(metrics.filter((m) => m === "BreakerOpened")).toEqual(["BreakerOpened"]);
    expect(table.num(ID, "gen")).toBe(1);
  });

  it("counts a failure on the right side of a window that ended under it", async () => {
    const b = container();
    await errorOf(b.call(down)); // window until T0 + 10 s, as this container saw it
    table.beforeWrite = (id, write) => {
      table.beforeWrite = undefined;
      // Another invocation's failure ended the old window and started one at T0 + 1 s.
      expect(write).toBe("addFailure");
      const item = table.items.get(id);
      if (item) item.windowEnd = { N: String(T0 - 1) };
    };
    await errorOf(b.call(down));
    expect(table.writes.map((w) => [w.name, w.done])).toEqual([
      ["startWindow", true],
      ["addFailure", false],
      ["startWindow", true],
    ]);
    expect(table.num(ID, "failures")).toBe(1);
  });

  it("reads the item when a failed condition returns none (as an emulator may)", async () => {
    table.returnItemOnFailure = false;
    await openIt();
    clock += 20_000;
    table.beforeWrite = (id, write) => {
      if (write !== "takeProbe") return;
      table.beforeWrite = undefined;
      const item = table.items.get(id);
      if (item) item.probes = { N: "1" }; // another invocation took the only slot
    };
    const fn = vi.fn(up);
    expectOpenError(await errorOf(container().call(fn)), 20);
    expect(fn).not.toHaveBeenCalled();
  });

  it("passes the dependency's error on when its bookkeeping fails", async () => {
    dynamoMock.on(UpdateItemCommand).rejects(new Error("throttled"));
    const error = await errorOf(container().call(down));
    expect((error as Error).message).toBe("503 from the provider");
  });

  it("fails the record as transient when the state cannot be read (nothing was called)", async () => {
    dynamoMock.on(GetItemCommand).rejects(Object.assign(new Error("x"), { name: "Throttling" }));
    const fn = vi.fn(up);
    const error = await errorOf(container().call(fn));
    expect(classify(error).kind).toBe("transient");
    expect(fn).not.toHaveBeenCalled();
  });
});

describe("breaker options", () => {
  it("has defaults: 5 failures in 60 s, 30 s cool-down, 1 probe", () => {
    expect(breakerPolicy("p")).toMatchObject({
      failureThreshold: 5,
      windowMs: 60_000,
      coolDownMs: 30_000,
      halfOpenProbes: 1,
    });
  });

  it.each([
    [{ failureThreshold: 0 }, "provider: failureThreshold must be an integer ≥ 1, got 0"],
    [{ window: 0 }, "window must be seconds above 0, at most 86400, got 0"],
    [{ coolDown: 0.5 }, "coolDown must be seconds from 1 to 3600, got 0.5"],
    [{ halfOpenProbes: 1.5 }, "halfOpenProbes must be an integer ≥ 1, got 1.5"],
  ])("refuses %j", (options, message) => {
    expect(() => breakerPolicy("provider", options)).toThrow(message);
  });

  it("refuses a name that cannot be part of a key", () => {
    expect(() => breakerPolicy("has space")).toThrow('got "has space"');
  });

  it("needs the consumer's idempotency table", () => {
    expect(() =>
      dependencyBreaker("p", OPTIONS, {
        dynamo: new DynamoDBClient({}),
        metrics: { addMetric: () => {} },
        logger: new Logger({ logLevel: "SILENT" }),
        now: () => new Date(),
        config: { consumerName: "orders", idempotencyTable: undefined },
      }),
    ).toThrow(ConfigurationError);
  });

  it("reads no retry delay from other errors", () => {
    expect(openDependencyRetryAfter(new TransientError("x"))).toBeUndefined();
    expect(openDependencyRetryAfter(new Error("x"))).toBeUndefined();
  });
});
