import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { describe, expect, it } from "vitest";
import { lambdaEntry } from "../../../lib/example/lambda-entry.js";

describe("lambdaEntry", () => {
  it("resolves a handler path under lambdas/ to the absolute path of an existing module", () => {
    const entry = lambdaEntry("checkout/handler.ts");
    expect(isAbsolute(entry)).toBe(true);
    expect(entry.endsWith("/lambdas/checkout/handler.ts")).toBe(true);
    expect(existsSync(entry)).toBe(true);
  });
});
