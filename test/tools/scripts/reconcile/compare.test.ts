import { describe, expect, it, vi } from "vitest";
import type { Check } from "../../../../tools/scripts/reconcile/check.js";
import { compareAndFix, sameValue } from "../../../../tools/scripts/reconcile/compare.js";

describe("sameValue", () => {
  it("compares a declared object with the JSON string a service returns, keys in any order", () => {
    expect(
      sameValue(
        { maxReceiveCount: 5, deadLetterTargetArn: "arn:dlq" },
        '{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":"5"}',
      ),
    ).toBe(true);
  });

  it("treats numbers and booleans as the strings SQS returns", () => {
    expect(sameValue(30, "30")).toBe(true);
    expect(sameValue(true, "true")).toBe(true);
    expect(sameValue(30, "31")).toBe(false);
  });

  it("keeps array order and tells absent from present", () => {
    expect(sameValue(["a", "b"], ["b", "a"])).toBe(false);
    expect(sameValue("UTC", undefined)).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });

  it("leaves a string that only looks like JSON as it is", () => {
    expect(sameValue("{not json", "{not json")).toBe(true);
    expect(sameValue("{not json", "{other")).toBe(false);
  });
});

/**
 * A declared VisibilityTimeout of 30 the emulator holds as `observed`; its fix (unless `fixes` is
 * false) sets it to `afterFix`, the declared value unless told otherwise.
 */
function property(
  observed: unknown,
  extra: Partial<Check> & { afterFix?: unknown; fixes?: boolean } = {},
) {
  let current = observed;
  const { afterFix, fixes = true, ...rest } = extra;
  const fix = vi.fn(async () => {
    current = "afterFix" in extra ? afterFix : 30;
  });
  const check: Check = {
    property: "VisibilityTimeout",
    declared: 30,
    observe: async () => current,
    ...(fixes ? { fix } : {}),
    ...rest,
  };
  return Object.assign(check, { fixed: fix });
}

describe("compareAndFix", () => {
  it("finds no gap when the emulator holds the declared value, and changes nothing", async () => {
    const check = property("30");
    expect(await compareAndFix(check)).toBeUndefined();
    expect(check.fixed).not.toHaveBeenCalled();
  });

  it("fixes a gap and reports it fixed once a re-read agrees", async () => {
    const check = property(undefined);
    expect(await compareAndFix(check)).toEqual({
      property: "VisibilityTimeout",
      declared: 30,
      observed: undefined,
      action: "fixed",
    });
    expect(check.fixed).toHaveBeenCalledOnce();
  });

  it("adds what the emulator still does not honour to a fixed gap", async () => {
    const finding = await compareAndFix(property(undefined, { noteWhenFixed: "stored only" }));
    expect(finding).toMatchObject({ action: "fixed", note: "stored only" });
  });

  it("reports fix-failed with the value still there when the fix did not take", async () => {
    const finding = await compareAndFix(property("10", { afterFix: "10" }));
    expect(finding).toMatchObject({
      action: "fix-failed",
      observed: "10",
      note: 'still "10" after the fix',
    });
  });

  it("reports fix-failed with the error when the fix throws", async () => {
    const check = property("10", {
      fix: async () => {
        throw Object.assign(new Error("no such queue"), { name: "QueueDoesNotExist" });
      },
    });
    expect(await compareAndFix(check)).toMatchObject({
      action: "fix-failed",
      note: "QueueDoesNotExist: no such queue",
    });
  });

  it("changes nothing in a dry run and says so", async () => {
    const check = property("10");
    expect(await compareAndFix(check, { dryRun: true })).toMatchObject({
      action: "not-fixable",
      note: "dry run",
    });
    expect(check.fixed).not.toHaveBeenCalled();
  });

  it("reports a property no API can change as not fixable, with the checker's reason if any", async () => {
    expect(await compareAndFix(property("10", { fixes: false }))).toMatchObject({
      action: "not-fixable",
      note: "no API changes this after creation",
    });
    expect(
      await compareAndFix(property("10", { fixes: false, unfixable: "nothing to trace to" })),
    ).toMatchObject({ action: "not-fixable", note: "nothing to trace to" });
  });

  it("reports a property it cannot read as a gap naming the error", async () => {
    const check = property(undefined, {
      observe: async () => {
        throw Object.assign(new Error("denied"), { name: "AccessDenied" });
      },
    });
    expect(await compareAndFix(check, { dryRun: true })).toMatchObject({
      observed: "(cannot read: AccessDenied)",
    });
  });

  it("uses the checker's own equality when it has one", async () => {
    const check = property("PT30S", { equal: (d, o) => o === `PT${String(d)}S` });
    expect(await compareAndFix(check)).toBeUndefined();
  });
});
