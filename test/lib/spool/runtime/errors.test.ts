import { describe, expect, it } from "vitest";
import { classify, PermanentError, TransientError } from "../../../../lib/spool/runtime/errors.js";

function named(name: string, message = `${name} happened`): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe("PermanentError and TransientError", () => {
  it("default their codes and carry the cause", () => {
    const cause = new Error("root");
    const permanent = new PermanentError("p", { code: "PERMANENT", cause });
    expect(new PermanentError("p").code).toBe("PERMANENT");
    expect(new TransientError("t").code).toBe("TRANSIENT");
    expect(permanent.cause).toBe(cause);
    expect(permanent).toBeInstanceOf(Error);
    expect(permanent.name).toBe("PermanentError");
    expect(new TransientError("t").name).toBe("TransientError");
  });
});

describe("classify", () => {
  it("keeps a PermanentError's code, message and details", () => {
    const details = { orderId: "o-1", seq: 3 };
    expect(classify(new PermanentError("order closed", { code: "ORDER_CLOSED", details }))).toEqual(
      {
        kind: "permanent",
        errorClass: "PermanentError",
        code: "ORDER_CLOSED",
        message: "order closed",
        details,
      },
    );
  });

  it("keeps a TransientError's code and details", () => {
    expect(
      classify(new TransientError("busy", { code: "PROVIDER_BUSY", details: { retryAfter: 3 } })),
    ).toEqual({
      kind: "transient",
      errorClass: "TransientError",
      code: "PROVIDER_BUSY",
      message: "busy",
      details: { retryAfter: 3 },
    });
  });

  it("omits details when the error has none", () => {
    expect(classify(new PermanentError("x", { code: "X" }))).not.toHaveProperty("details");
  });

  it("treats a Powertools IdempotencyValidationError as a reused key (permanent)", () => {
    const result = classify(named("IdempotencyValidationError"));
    expect(result).toMatchObject({
      kind: "permanent",
      errorClass: "IdempotencyValidationError",
      code: "IDEMPOTENCY_KEY_REUSED",
    });
    expect(result.message).toMatch(/different content/);
  });

  it("treats IdempotencyAlreadyInProgressError as transient", () => {
    expect(classify(named("IdempotencyAlreadyInProgressError", "in progress"))).toEqual({
      kind: "transient",
      errorClass: "IdempotencyAlreadyInProgressError",
      code: "DUPLICATE_IN_PROGRESS",
      message: "in progress",
    });
  });

  it.each([
    "ValidationException",
    "InvalidParameterValueException",
    "InvalidParameterException",
    "SerializationException",
  ])("treats the AWS request error %s as permanent, coded by its name", (name) => {
    expect(classify(named(name, "bad request"))).toEqual({
      kind: "permanent",
      errorClass: name,
      code: name,
      message: "bad request",
    });
  });

  it.each([
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "InternalServerError",
    "TimeoutError",
  ])("keeps %s transient", (name) => {
    expect(classify(named(name))).toMatchObject({ kind: "transient", code: "UNCLASSIFIED" });
  });

  it("treats a plain Error as transient UNCLASSIFIED", () => {
    expect(classify(new Error("boom"))).toEqual({
      kind: "transient",
      errorClass: "Error",
      code: "UNCLASSIFIED",
      message: "boom",
    });
  });

  it("treats a subclass of Error as transient with its own class name", () => {
    expect(classify(new TypeError("x is undefined"))).toMatchObject({
      kind: "transient",
      errorClass: "TypeError",
      code: "UNCLASSIFIED",
    });
  });

  it("treats a thrown string as transient UNCLASSIFIED", () => {
    expect(classify("socket hang up")).toEqual({
      kind: "transient",
      errorClass: "string",
      code: "UNCLASSIFIED",
      message: "socket hang up",
    });
  });

  it("treats undefined and plain objects as transient", () => {
    expect(classify(undefined)).toMatchObject({ kind: "transient", message: "undefined" });
    expect(classify({ code: "X" })).toMatchObject({ kind: "transient", errorClass: "object" });
  });
});
