import { describe, expect, it } from "vitest";
import { ORDER_ERROR_CODES } from "../../../../lambdas/error-codes.js";
import {
  DEAD_LETTER_REASONS,
  SPOOL_ERROR_CODES,
} from "../../../../lib/spool/runtime/error-codes.js";
import { kebab, uniqueNames } from "../../../../lib/spool/spool-monitoring/names.js";
import { filterFromOptions } from "../../../../tools/cli/commands/dlq.js";
import { type DeadLetter, LISTED_REASONS } from "../../../../tools/cli/lib/dead-letters.js";
import {
  assertJmesPath,
  assertKnownErrorCodes,
  assertKnownReasons,
  describeFilter,
  isEmptyFilter,
  matchDeadLetter,
  parseAttributeFilter,
  parseDuration,
} from "../../../../tools/cli/lib/filters.js";
import { parseRate, TokenBucket } from "../../../../tools/cli/lib/rate-limiter.js";
import { readDoc, tableRows } from "../../../helpers/markdown.js";

const now = new Date("2026-01-01T12:00:00Z");

function letter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    id: "11111111-aaaa-bbbb-cccc-000000000001",
    originalId: "22222222-aaaa-bbbb-cccc-000000000002",
    receiptHandle: "rh",
    body: JSON.stringify({ recipient: "a@x.io", order: { total: 42, items: ["book"] } }),
    attributes: { tenant: { DataType: "String", StringValue: "acme" } },
    system: {},
    metadata: undefined,
    via: "spool",
    errorClass: "PermanentError",
    errorCode: "RECIPIENT_SUPPRESSED",
    errorMessage: "suppressed",
    reason: "permanent-failure",
    attempts: 1,
    firstFailureAt: undefined,
    deadLetteredAt: new Date(now.getTime() - 10 * 60_000),
    sourceArn: undefined,
    correlationId: undefined,
    groupId: undefined,
    ...overrides,
  };
}

describe("dead-letter filters", () => {
  it("matches everything when empty", () => {
    expect(isEmptyFilter({})).toBe(true);
    expect(matchDeadLetter({}, letter(), now)).toEqual({ match: true });
    expect(describeFilter({})).toBe("all dead letters");
  });

  it.each([
    [{ errorClasses: ["PermanentError"] }, true],
    [{ errorClasses: ["TransientError"] }, false],
    [{ errorCodes: ["SCHEMA_INVALID", "RECIPIENT_SUPPRESSED"] }, true],
    [{ errorCodes: ["SCHEMA_INVALID"] }, false],
    [{ reasons: ["retries-exhausted"] }, false],
    [{ attributes: [{ name: "tenant", value: "acme" }] }, true],
    [{ attributes: [{ name: "tenant", value: "globex" }] }, false],
    [{ attributes: [{ name: "region", value: "eu" }] }, false],
    [{ olderThanMs: 5 * 60_000 }, true],
    [{ olderThanMs: 15 * 60_000 }, false],
    [{ newerThanMs: 15 * 60_000 }, true],
    [{ newerThanMs: 5 * 60_000 }, false],
    [{ where: "recipient == 'a@x.io'" }, true],
    [{ where: "order.total > `40`" }, true],
    [{ where: "contains(order.items, 'pen')" }, false],
    [{ where: "missing.path" }, false],
    [{ ids: ["11111111-aaaa-bbbb-cccc-000000000001"] }, true],
    [{ ids: ["22222222-aaaa"] }, true],
    [{ ids: ["1111"] }, false],
    [{ errorCodes: ["RECIPIENT_SUPPRESSED"], where: "recipient == 'b@x.io'" }, false],
  ] as const)("%j → %s", (filter, expected) => {
    expect(matchDeadLetter(filter, letter(), now).match).toBe(expected);
  });

  it("never matches a body that is not JSON with --where, and says why", () => {
    expect(matchDeadLetter({ where: "a" }, letter({ body: "{oops" }), now)).toEqual({
      match: false,
      failed: "where (body is not JSON)",
    });
  });

  it("matches a bare redrive dead letter by reason only", () => {
    const bare = letter({
      via: "redrive",
      reason: "redrive",
      errorClass: undefined,
      errorCode: undefined,
    });
    expect(matchDeadLetter({ reasons: ["redrive"] }, bare, now).match).toBe(true);
    expect(matchDeadLetter({ errorClasses: ["PermanentError"] }, bare, now).match).toBe(false);
  });

  it("parses the replay options, refusing bad values with the option's name", () => {
    expect(
      filterFromOptions({
        errorCode: ["RECIPIENT_SUPPRESSED"],
        attribute: ["tenant=acme=1"],
        olderThan: "2h",
        where: "x == `1`",
        dryRun: true,
        hold: 60,
        native: true,
      }),
    ).toEqual({
      errorCodes: ["RECIPIENT_SUPPRESSED"],
      attributes: [{ name: "tenant", value: "acme=1" }],
      olderThanMs: 7_200_000,
      where: "x == `1`",
    });
    expect(parseDuration("90s", "--x")).toBe(90_000);
    expect(parseDuration("7d", "--x")).toBe(604_800_000);
    expect(() => parseDuration("soon", "--older-than")).toThrow(
      '--older-than must be a duration like 30s, 15m, 2h or 7d, got "soon"',
    );
    expect(() => parseAttributeFilter("=x")).toThrow('--attribute must be name=value, got "=x"');
    expect(() => assertJmesPath("order.[")).toThrow(/--where is not a valid JMESPath expression/);
    expect(() => assertJmesPath("length(@)")).not.toThrow();
  });

  it("accepts the catalogue's error codes (toolkit and example) and every listed reason", () => {
    expect(
      filterFromOptions({
        errorCode: ["SCHEMA_INVALID", "RECIPIENT_SUPPRESSED", "ValidationException"],
        reason: ["permanent-failure", "retries-exhausted", "redrive", "unknown"],
        dryRun: true,
        hold: 60,
        native: true,
      }),
    ).toEqual({
      errorCodes: ["SCHEMA_INVALID", "RECIPIENT_SUPPRESSED", "ValidationException"],
      reasons: ["permanent-failure", "retries-exhausted", "redrive", "unknown"],
    });
    expect(() => assertKnownErrorCodes(Object.keys(SPOOL_ERROR_CODES))).not.toThrow();
    expect(() => assertKnownErrorCodes(Object.keys(ORDER_ERROR_CODES))).not.toThrow();
    expect(() => assertKnownReasons(Object.keys(DEAD_LETTER_REASONS))).not.toThrow();
  });

  it.each([
    [
      { errorCode: ["RECIPIENT_SUPRESSED"] },
      '--error-code "RECIPIENT_SUPRESSED" is not a known error code; see the catalogue in docs/operations.md#error-codes-and-dead-letter-reasons',
    ],
    [
      { errorCode: ["schema-invalid"] },
      /not a known error code \(did you mean "SCHEMA_INVALID"\?\)/,
    ],
    // A code the unit tests register for themselves is no code a deployed consumer raises.
    [{ errorCode: ["SCHEMA_INVALID", "BAD"] }, /^--error-code "BAD" is not a known error code/],
    [
      { reason: ["retries_exhausted"] },
      '--reason must be one of permanent-failure, retries-exhausted, group-held, redrive, unknown, got "retries_exhausted" (did you mean "retries-exhausted"?)',
    ],
    [{ reason: ["timeout"] }, /^--reason must be one of .*, got "timeout"$/],
  ])("refuses %j as a usage error (exit code 2)", (options, message) => {
    const parse = () => filterFromOptions({ ...options, dryRun: true, hold: 60, native: true });
    expect(parse).toThrow(message);
    expect(parse).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it("documents every reason --reason accepts in docs/operations.md, with its meaning", () => {
    const rows = tableRows(readDoc("docs/operations.md"), "The reason of a dead letter");
    expect(rows).toEqual(
      Object.entries(LISTED_REASONS).map(([reason, meaning]) => [`\`${reason}\``, meaning]),
    );
  });

  it("describes a filter for the audit record", () => {
    expect(
      describeFilter({
        errorCodes: ["A", "B"],
        attributes: [{ name: "t", value: "v" }],
        where: "x",
      }),
    ).toBe("error code in [A, B] and attribute t = v and body matches x");
  });
});

describe("rate limiter", () => {
  it("spaces takes evenly at the rate, with no burst beyond one", async () => {
    let clock = 0;
    const sleeps: number[] = [];
    const bucket = new TokenBucket({
      ratePerSecond: 4,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    for (let i = 0; i < 9; i++) await bucket.take();
    // The first is free; each of the other 8 waits a quarter second.
    expect(clock).toBe(2_000);
    expect(sleeps).toEqual(Array(8).fill(250));
  });

  it("lets an idle bucket refill only up to its burst", async () => {
    let clock = 0;
    const bucket = new TokenBucket({
      ratePerSecond: 10,
      burst: 3,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    clock = 60_000; // a minute idle
    for (let i = 0; i < 5; i++) await bucket.take();
    expect(clock).toBe(60_200); // 3 at once, then 2 at 100 ms each
  });

  it("stops waiting when aborted", async () => {
    const controller = new AbortController();
    const bucket = new TokenBucket({
      ratePerSecond: 1,
      now: () => 0,
      sleep: async () => controller.abort(new Error("stop")),
    });
    await bucket.take();
    await expect(bucket.take(controller.signal)).rejects.toThrow("stop");
  });

  it("parses rates", () => {
    expect(parseRate("5")).toBe(5);
    expect(parseRate("0.5/s")).toBe(0.5);
    expect(parseRate("300/m")).toBe(5);
    expect(() => parseRate("0")).toThrow(/--rate must be a positive number/);
    expect(() => parseRate("fast")).toThrow(/--rate must be a positive number/);
    expect(() => new TokenBucket({ ratePerSecond: 0 })).toThrow(/ratePerSecond must be a positive/);
  });
});

describe("resource names", () => {
  it("kebab-cases construct ids", () => {
    expect(kebab("OrderEvents")).toBe("order-events");
    expect(kebab("OpsLabFIFO")).toBe("ops-lab-fifo");
    expect(kebab("Orders2")).toBe("orders2");
    expect(kebab("APIQueue")).toBe("api-queue");
  });

  it("adds parent ids only where two paths end alike", () => {
    expect(uniqueNames(["Messaging/Orders", "Lab/Orders", "Messaging/Notifications"])).toEqual([
      "messaging/orders",
      "lab/orders",
      "notifications",
    ]);
    expect(uniqueNames(["A/B/Orders", "C/B/Orders"])).toEqual(["a/b/orders", "c/b/orders"]);
  });
});
