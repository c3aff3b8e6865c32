import { describe, expect, it } from "vitest";
import { ORDER_ERROR_CODES } from "../../lambdas/error-codes.js";
import { SPOOL_ERROR_CODES } from "../../lib/spool/runtime/error-codes.js";
import { classify, PermanentError, TransientError } from "../../lib/spool/runtime/errors.js";
import { expectWellFormed } from "../helpers/error-codes.js";
import { catalogueRows, readDoc, tableRows } from "../helpers/markdown.js";

describe("the order domain's error-code catalogue", () => {
  it("gives every code a kind and a one-line meaning", () => {
    expectWellFormed(ORDER_ERROR_CODES);
  });

  it("shares no code with the library (one meaning per code)", () => {
    const library = new Set(Object.keys(SPOOL_ERROR_CODES));
    expect(Object.keys(ORDER_ERROR_CODES).filter((code) => library.has(code))).toEqual([]);
  });

  it("is accepted by the library's error classes, each code by the class of its kind", () => {
    expect(classify(new PermanentError("x", { code: "RECIPIENT_SUPPRESSED" }))).toMatchObject({
      kind: ORDER_ERROR_CODES.RECIPIENT_SUPPRESSED.kind,
      code: "RECIPIENT_SUPPRESSED",
    });
    expect(classify(new TransientError("x", { code: "CHECKOUT_CANCELLED" }))).toMatchObject({
      kind: ORDER_ERROR_CODES.CHECKOUT_CANCELLED.kind,
      code: "CHECKOUT_CANCELLED",
    });
  });

  it("is the example's table in docs/operations.md, code by code, in order", () => {
    const rows = tableRows(readDoc("docs/operations.md"), "The example's codes");
    expect(rows).toEqual(catalogueRows(ORDER_ERROR_CODES));
  });
});
