/** The error `fn` throws (the test fails when it throws none), so one call can be asserted on. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw, and it returned");
}
