import { describe, expect, it } from "vitest";
import {
  DEAD_LETTER_REASONS,
  SPOOL_ERROR_CODES,
} from "../../../../lib/spool/runtime/error-codes.js";
import { classify, PermanentError, TransientError } from "../../../../lib/spool/runtime/errors.js";
import { expectWellFormed } from "../../../helpers/error-codes.js";
import { catalogueRows, readDoc, tableRows } from "../../../helpers/markdown.js";

const named = (name: string) => Object.assign(new Error(name), { name });

describe("the library's error-code catalogue", () => {
  it("gives every code a kind and a one-line meaning", () => {
    expectWellFormed(SPOOL_ERROR_CODES);
  });

  it("lists the codes classify() gives, with the kind classify() gives them", () => {
    const samples = [
      new PermanentError("p"),
      new TransientError("t"),
      new Error("a bug"),
      "a thrown string",
      named("IdempotencyValidationError"),
      named("IdempotencyAlreadyInProgressError"),
      named("ValidationException"),
      named("InvalidParameterValueException"),
      named("InvalidParameterException"),
      named("SerializationException"),
      named("ThrottlingException"),
    ];
    for (const sample of samples) {
      const { code, kind } = classify(sample);
      expect(SPOOL_ERROR_CODES[code as keyof typeof SPOOL_ERROR_CODES]?.kind, code).toBe(kind);
    }
  });

  it("names the two reasons a consumer dead-letters for", () => {
    expect(Object.keys(DEAD_LETTER_REASONS)).toEqual([
      "permanent-failure",
      "retries-exhausted",
      "group-held",
    ]);
  });

  it("is the toolkit's table in docs/operations.md, code by code, in order", () => {
    const rows = tableRows(readDoc("docs/operations.md"), "The toolkit's codes:");
    expect(rows).toEqual(catalogueRows(SPOOL_ERROR_CODES));
  });
});
