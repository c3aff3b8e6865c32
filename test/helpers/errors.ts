import { expect } from "vitest";
import { SpoolValidationError } from "../../lib/spool/runtime/validation.js";

/** The error `fn` throws (the test fails when it throws none), so one call can be asserted on. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw, and it returned");
}

/**
 * Asserts that `fn` refuses a construct's props with a SpoolValidationError naming
 * `constructPath`, and that the rest of the message (the prop and the value) is `message`.
 */
export function expectRefusal(fn: () => unknown, constructPath: string, message: string): void {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(SpoolValidationError);
  expect(error).toMatchObject({ constructPath, message: `${constructPath}: ${message}` });
}
