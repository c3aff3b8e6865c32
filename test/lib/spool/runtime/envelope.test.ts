import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { correlationIdOf } from "../../../../lib/spool/runtime/correlation.js";
import { deadLetterMetadata } from "../../../../lib/spool/runtime/dead-letter.js";
import {
  AnyEvent,
  createEvent,
  eventSchema,
  majorOf,
  SCHEMA_VERSION_UNSUPPORTED,
  unwrapEventBridge,
} from "../../../../lib/spool/runtime/envelope.js";
import { classify, PermanentError } from "../../../../lib/spool/runtime/errors.js";

const OrderPlaced = eventSchema({
  type: "OrderPlaced",
  major: 1,
  data: z.object({ orderId: z.string(), totalCents: z.number().int() }),
});

function envelope(overrides: Record<string, unknown> = {}) {
  return {
    id: "evt-1",
    type: "OrderPlaced",
    schemaVersion: "1.0",
    time: "2026-01-02T03:04:05.000Z",
    source: "spool.checkout",
    correlationId: "corr-1",
    data: { orderId: "o-1", totalCents: 1200 },
    ...overrides,
  };
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("event envelope", () => {
  it("creates events with an id, a time and a correlation id", () => {
    const event = createEvent({
      type: "OrderPlaced",
      schemaVersion: "1.0",
      source: "spool.checkout",
      data: { orderId: "o-1" },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(event.time)).not.toBeNaN();
    expect(AnyEvent.safeParse(event).success).toBe(true);
  });

  it.each([
    [{ schemaVersion: "1" }, "schemaVersion"],
    [{ schemaVersion: "01.0" }, "schemaVersion"],
    [{ source: "aws.orders" }, "source"],
    [{ id: "has space" }, "id"],
    [{ type: "" }, "type"],
    [{ tenantId: "" }, "tenantId"],
    [{ tenantId: "a/b" }, "tenantId"],
  ])("refuses to create a malformed envelope (%o)", (override, field) => {
    expect(() =>
      createEvent({
        type: "OrderPlaced",
        schemaVersion: "1.0",
        source: "spool.checkout",
        data: {},
        ...(override as object),
      }),
    ).toThrow(new RegExp(`invalid event envelope: ${field}`));
  });

  it("carries an optional tenant id, which readers of any envelope keep", () => {
    const event = createEvent({
      type: "OrderPlaced",
      schemaVersion: "1.1",
      source: "spool.checkout",
      data: {},
      tenantId: "acme",
    });
    expect(event.tenantId).toBe("acme");
    expect(AnyEvent.parse(event).tenantId).toBe("acme");
    const without = createEvent({ type: "T", schemaVersion: "1.0", source: "s", data: {} });
    expect("tenantId" in without).toBe(false);
  });

  it("reads the major of major.minor", () => {
    expect(majorOf("1.0")).toBe(1);
    expect(majorOf("12.34")).toBe(12);
    expect(majorOf("1")).toBeUndefined();
    expect(majorOf("v1.0")).toBeUndefined();
  });
});

describe("eventSchema", () => {
  it("accepts the supported major", () => {
    const parsed = OrderPlaced.parse(envelope());
    expect(parsed.data).toEqual({ orderId: "o-1", totalCents: 1200 });
  });

  it("accepts a newer minor and drops the fields it does not know", () => {
    const parsed = OrderPlaced.parse(
      envelope({
        schemaVersion: "1.7",
        traceparent: "00-abc",
        data: { orderId: "o-1", totalCents: 1200, giftWrap: true },
      }),
    );
    expect(parsed.schemaVersion).toBe("1.7");
    expect(parsed.data).toEqual({ orderId: "o-1", totalCents: 1200 });
    expect(parsed).not.toHaveProperty("traceparent");
  });

  it("throws a PermanentError naming the version for an unknown major", () => {
    const error = thrownBy(() => OrderPlaced.safeParse(envelope({ schemaVersion: "2.0" })));
    expect(error).toBeInstanceOf(PermanentError);
    const classified = classify(error);
    expect(classified).toMatchObject({
      kind: "permanent",
      code: SCHEMA_VERSION_UNSUPPORTED,
      details: { schemaVersion: "2.0", supportedMajor: 1, type: "OrderPlaced" },
    });
    expect(classified.message).toMatch(/schemaVersion 2\.0 is not supported.*major 1/);
  });

  it("checks the major before the payload, so an older major is refused for its version", () => {
    const error = thrownBy(() =>
      OrderPlaced.safeParse(envelope({ schemaVersion: "0.9", data: { legacy: true } })),
    );
    expect(classify(error).code).toBe(SCHEMA_VERSION_UNSUPPORTED);
  });

  it("reports a malformed version, a wrong type or bad data as schema issues", () => {
    for (const body of [
      envelope({ schemaVersion: "one" }),
      envelope({ type: "OrderCancelled" }),
      envelope({ data: { orderId: "o-1" } }),
      envelope({ id: undefined }),
    ]) {
      expect(OrderPlaced.safeParse(body).success).toBe(false);
    }
  });

  it("unwraps a whole EventBridge event to its detail", () => {
    const wrapped = {
      version: "0",
      id: "eb-id",
      "detail-type": "OrderPlaced",
      source: "spool.checkout",
      detail: envelope(),
    };
    expect(unwrapEventBridge(wrapped)).toEqual(envelope());
    expect(OrderPlaced.parse(wrapped).id).toBe("evt-1");
    expect(unwrapEventBridge(envelope())).toEqual(envelope());
  });

  it("rejects a major that is not a whole number", () => {
    expect(() => eventSchema({ type: "X", major: 1.5, data: z.object({}) })).toThrow(
      "major must be a whole number >= 0, got 1.5",
    );
  });
});

describe("correlation id and dead-letter version of a whole EventBridge event", () => {
  const record = {
    messageId: "m-1",
    body: "{}",
    attributes: { ApproximateReceiveCount: "1", ApproximateFirstReceiveTimestamp: "1" },
    messageAttributes: {},
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:q",
  } as unknown as SQSRecord;
  const wrapped = { "detail-type": "OrderPlaced", detail: envelope({ schemaVersion: "1.3" }) };

  it("takes the correlation id from detail", () => {
    expect(correlationIdOf(record, wrapped)).toBe("corr-1");
  });

  it("takes the schema version from detail", () => {
    const metadata = deadLetterMetadata({
      record,
      failure: classify(new PermanentError("x", { code: "X" })),
      reason: "permanent-failure",
      correlationId: "corr-1",
      body: wrapped,
      consumer: "c",
      now: new Date(0),
    });
    expect(metadata.schemaVersion).toBe("1.3");
  });
});
