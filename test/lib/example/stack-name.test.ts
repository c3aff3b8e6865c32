import { describe, expect, it } from "vitest";
import { DEFAULT_STACK_NAME, stackNameFromContext } from "../../../lib/example/stack-name.js";
import { SpoolValidationError } from "../../../lib/spool/runtime/validation.js";

describe("stackNameFromContext (-c spool:stack=<name>)", () => {
  it("defaults to Spool and takes any name CloudFormation accepts", () => {
    expect(stackNameFromContext(undefined)).toBe(DEFAULT_STACK_NAME);
    expect(stackNameFromContext("Spool-green-2")).toBe("Spool-green-2");
    expect(stackNameFromContext(`S${"a".repeat(127)}`)).toHaveLength(128);
  });

  it.each([
    ["spool_blue", '"spool_blue"'],
    ["2spool", '"2spool"'],
    ["", '""'],
    [`S${"a".repeat(128)}`, `"S${"a".repeat(128)}"`],
    [true, "true"],
  ])("refuses %j, naming the option and the value", (value, shown) => {
    expect(() => stackNameFromContext(value)).toThrow(SpoolValidationError);
    expect(() => stackNameFromContext(value)).toThrow(
      `-c spool:stack must be a CloudFormation stack name (a letter, then letters, digits or hyphens; at most 128 characters), got ${shown}`,
    );
  });
});
