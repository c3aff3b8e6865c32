import { describe, expect, it } from "vitest";
import { assertAuthMatches, authRequested } from "../../../tools/scripts/emulator.js";

const endpoint = "http://127.0.0.1:4584";

describe("SPOOL_EMULATOR_AUTH", () => {
  it("asks for MiniStack's IAM enforcement only when set to 1/true/yes", () => {
    for (const value of ["1", "true", "TRUE", " yes "])
      expect(authRequested({ SPOOL_EMULATOR_AUTH: value })).toBe(true);
    for (const value of [undefined, "", "0", "false", "no"])
      expect(authRequested({ SPOOL_EMULATOR_AUTH: value })).toBe(false);
  });

  it("refuses a value it cannot read rather than guess", () => {
    expect(() => authRequested({ SPOOL_EMULATOR_AUTH: "on-please" })).toThrow(
      'SPOOL_EMULATOR_AUTH must be 1 or 0, got "on-please"',
    );
  });
});

describe("reusing a running emulator", () => {
  it("accepts one whose AUTH setting is the one asked for", () => {
    expect(() =>
      assertAuthMatches({ kind: "ministack", auth: true, endpoint }, true),
    ).not.toThrow();
    expect(() =>
      assertAuthMatches({ kind: "localstack", auth: false, endpoint }, false),
    ).not.toThrow();
  });

  it("refuses a MiniStack started without AUTH when the run asks for it, and the reverse", () => {
    expect(() => assertAuthMatches({ kind: "ministack", auth: false, endpoint }, true)).toThrow(
      `MiniStack at ${endpoint} runs with AUTH off, but SPOOL_EMULATOR_AUTH asks for it on`,
    );
    expect(() => assertAuthMatches({ kind: "ministack", auth: true, endpoint }, false)).toThrow(
      "runs with AUTH on, but SPOOL_EMULATOR_AUTH asks for it off",
    );
  });

  it("refuses LocalStack when the run asks for MiniStack's enforcement", () => {
    expect(() => assertAuthMatches({ kind: "localstack", auth: false, endpoint }, true)).toThrow(
      "LocalStack answers",
    );
  });
});
