import { describe, expect, it } from "vitest";
import {
  latestOccurrenceAtOrBefore,
  nextOccurrenceAfter,
  occurrencesBetween,
  parseRecurringExpression,
  ScheduleExpressionError,
} from "../../../../lib/spool/recurring-job/schedule-expression.js";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const berlin = { timeZone: "Europe/Berlin" };

describe("parseRecurringExpression", () => {
  it("translates Scheduler cron fields for cron-parser (seconds, ?, day-of-week 1-7 = SUN-SAT)", () => {
    const parsed = parseRecurringExpression("cron(0 2 ? * 2-6 *)");
    expect(parsed).toMatchObject({ kind: "cron", parserExpression: "0 0 2 * * 1-5" });
    expect(parseRecurringExpression("cron(15 10 ? * 6L 2022-2030)")).toMatchObject({
      parserExpression: "0 15 10 * * 5L",
    });
    expect(parseRecurringExpression("cron(0 8 ? * 2#1 *)")).toMatchObject({
      parserExpression: "0 0 8 * * 1#1",
    });
  });

  it("reads rate() in minutes, hours and days", () => {
    expect(parseRecurringExpression("rate(1 minute)")).toMatchObject({ periodMs: 60_000 });
    expect(parseRecurringExpression("rate(6 hours)")).toMatchObject({ periodMs: 21_600_000 });
    expect(parseRecurringExpression("rate(2 days)")).toMatchObject({ periodMs: 172_800_000 });
  });

  it.each([
    ["at(2026-01-01T00:00:00)", /cron\(\.\.\.\) or rate/],
    ["cron(0 2 * * *)", /six fields/],
    ["cron(0 2 * * 1 *)", /exactly one of day-of-month and day-of-week/],
    ["rate(1 minutes)", /singular/],
    ["rate(5 minute)", /plural/],
    ["rate(0 hours)", /positive/],
    ["cron(61 2 * * ? *)", /cannot read/],
  ])("refuses %s, naming the expression", (expression, message) => {
    expect(() => parseRecurringExpression(expression)).toThrow(ScheduleExpressionError);
    expect(() => parseRecurringExpression(expression)).toThrow(message);
  });
});

describe("occurrencesBetween", () => {
  const nightly = parseRecurringExpression("cron(0 2 * * ? *)");

  it("evaluates cron in the schedule's time zone, half-open window", () => {
    const from = new Date("2026-01-10T00:00:00Z");
    const to = new Date("2026-01-12T01:00:00Z");
    // 02:00 in Berlin is 01:00 UTC in winter; `to` itself is excluded.
    expect(iso(occurrencesBetween(nightly, from, to, berlin))).toEqual([
      "2026-01-10T01:00:00.000Z",
      "2026-01-11T01:00:00.000Z",
    ]);
  });

  it("follows daylight saving time: 02:00 that does not exist runs at 03:00, then 00:00 UTC", () => {
    const runs = occurrencesBetween(
      nightly,
      new Date("2024-03-30T00:00:00Z"),
      new Date("2024-04-02T00:00:00Z"),
      berlin,
    );
    expect(iso(runs)).toEqual([
      "2024-03-30T01:00:00.000Z",
      "2024-03-31T01:00:00.000Z", // 03:00 CEST: the skipped 02:00
      "2024-04-01T00:00:00.000Z", // 02:00 CEST
    ]);
  });

  it("runs once on the night clocks go back", () => {
    const runs = occurrencesBetween(
      nightly,
      new Date("2024-10-26T12:00:00Z"),
      new Date("2024-10-28T12:00:00Z"),
      berlin,
    );
    // 02:00 happens twice (CEST, then CET): it runs at the first.
    expect(iso(runs)).toEqual(["2024-10-27T00:00:00.000Z", "2024-10-28T01:00:00.000Z"]);
  });

  it("honours the year field", () => {
    const yearly = parseRecurringExpression("cron(0 0 1 1 ? 2025,2027)");
    const runs = occurrencesBetween(
      yearly,
      new Date("2024-06-01T00:00:00Z"),
      new Date("2028-06-01T00:00:00Z"),
      { timeZone: "UTC" },
    );
    expect(iso(runs)).toEqual(["2025-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]);
  });

  it("anchors rate() at the schedule's first occurrence", () => {
    const rate = parseRecurringExpression("rate(15 minutes)");
    const anchor = new Date("2026-01-01T00:07:00Z");
    expect(
      iso(
        occurrencesBetween(
          rate,
          new Date("2026-01-01T00:00:00Z"),
          new Date("2026-01-01T00:40:00Z"),
          {
            timeZone: "UTC",
            anchor,
          },
        ),
      ),
    ).toEqual(["2026-01-01T00:07:00.000Z", "2026-01-01T00:22:00.000Z", "2026-01-01T00:37:00.000Z"]);
    expect(() => occurrencesBetween(rate, new Date(0), new Date(1), { timeZone: "UTC" })).toThrow(
      /needs an anchor/,
    );
  });

  it("refuses a window with more than 10,000 occurrences", () => {
    const everyMinute = parseRecurringExpression("cron(* * * * ? *)");
    expect(() =>
      occurrencesBetween(
        everyMinute,
        new Date("2026-01-01T00:00:00Z"),
        new Date("2026-01-31T00:00:00Z"),
        {
          timeZone: "UTC",
        },
      ),
    ).toThrow(/more than 10000 occurrences/);
  });
});

describe("latestOccurrenceAtOrBefore", () => {
  it("finds the run a late-sent message belongs to, in the schedule's time zone", () => {
    const nightly = parseRecurringExpression("cron(0 2 * * ? *)");
    expect(
      latestOccurrenceAtOrBefore(nightly, new Date("2026-01-10T01:00:07Z"), berlin)?.toISOString(),
    ).toBe("2026-01-10T01:00:00.000Z");
    expect(
      latestOccurrenceAtOrBefore(nightly, new Date("2026-01-10T00:59:59Z"), berlin)?.toISOString(),
    ).toBe("2026-01-09T01:00:00.000Z");
    expect(
      latestOccurrenceAtOrBefore(nightly, new Date("2026-01-10T01:00:00Z"), berlin)?.toISOString(),
    ).toBe("2026-01-10T01:00:00.000Z");
  });

  it("counts rate() periods from the anchor, and has none before it", () => {
    const rate = parseRecurringExpression("rate(1 hour)");
    const anchor = new Date("2026-01-01T00:30:00Z");
    const options = { timeZone: "UTC", anchor };
    expect(
      latestOccurrenceAtOrBefore(rate, new Date("2026-01-01T03:29:59Z"), options)?.toISOString(),
    ).toBe("2026-01-01T02:30:00.000Z");
    expect(
      latestOccurrenceAtOrBefore(rate, new Date("2026-01-01T00:00:00Z"), options),
    ).toBeUndefined();
  });
});

describe("nextOccurrenceAfter", () => {
  it("finds the next run strictly after now, in the schedule's time zone and across DST", () => {
    const nightly = parseRecurringExpression("cron(0 2 * * ? *)");
    expect(
      nextOccurrenceAfter(nightly, new Date("2026-01-10T01:00:00Z"), berlin)?.toISOString(),
    ).toBe("2026-01-11T01:00:00.000Z");
    expect(
      nextOccurrenceAfter(nightly, new Date("2026-01-10T00:59:59Z"), berlin)?.toISOString(),
    ).toBe("2026-01-10T01:00:00.000Z");
    // 02:00 does not exist on the night clocks go forward: the Scheduler runs it at 03:00.
    expect(
      nextOccurrenceAfter(nightly, new Date("2026-03-28T12:00:00Z"), berlin)?.toISOString(),
    ).toBe("2026-03-29T01:00:00.000Z");
  });

  it("honours the year field, and says none when there is no later run", () => {
    const once = parseRecurringExpression("cron(0 12 1 1 ? 2027)");
    const at = new Date("2026-06-01T00:00:00Z");
    expect(nextOccurrenceAfter(once, at, { timeZone: "UTC" })?.toISOString()).toBe(
      "2027-01-01T12:00:00.000Z",
    );
    expect(
      nextOccurrenceAfter(once, new Date("2027-01-01T12:00:00Z"), { timeZone: "UTC" }),
    ).toBeUndefined();
  });

  it("counts rate() periods from the anchor", () => {
    const rate = parseRecurringExpression("rate(1 hour)");
    const options = { timeZone: "UTC", anchor: new Date("2026-01-01T00:30:00Z") };
    expect(
      nextOccurrenceAfter(rate, new Date("2026-01-01T02:30:00Z"), options)?.toISOString(),
    ).toBe("2026-01-01T03:30:00.000Z");
    expect(
      nextOccurrenceAfter(rate, new Date("2025-12-31T00:00:00Z"), options)?.toISOString(),
    ).toBe("2026-01-01T00:30:00.000Z");
  });
});
