/**
 * Codes the unit tests invent to show that the library carries a consumer's own code through
 * (into dead-letter metadata, step results, run records) without knowing it. They are registered
 * the way an application registers its codes (lambdas/error-codes.ts), so the tests compile
 * against the typed error classes unchanged. Test-only: the CLI's catalogue does not list them.
 */
import { expect } from "vitest";
import type { ErrorCodeCatalogue } from "../../lib/spool/runtime/error-codes.js";

export const TEST_ERROR_CODES = {
  X: { kind: "permanent", meaning: "test: any permanent code" },
  BAD: { kind: "permanent", meaning: "test: a permanent failure of a business step" },
  BIG: { kind: "permanent", meaning: "test: a permanent failure with large details" },
  CARD_EXPIRED: { kind: "permanent", meaning: "test: a saga action's permanent failure" },
  REFUND_REFUSED: { kind: "permanent", meaning: "test: a saga compensation's failure" },
  THROTTLED: { kind: "transient", meaning: "test: a transient failure of a business step" },
  TIMEOUT: { kind: "transient", meaning: "test: a saga action's transient failure" },
  PROVIDER_BUSY: { kind: "transient", meaning: "test: a transient failure with details" },
  DOWN: { kind: "transient", meaning: "test: a recurring job's effect failing" },
} as const satisfies ErrorCodeCatalogue;

type TestErrorCodes = typeof TEST_ERROR_CODES;

declare module "../../lib/spool/runtime/error-codes.js" {
  interface ErrorCodeRegistry extends TestErrorCodes {}
}

/** Checks any catalogue (the library's, an application's): what operators read must be usable. */
export function expectWellFormed(catalogue: ErrorCodeCatalogue): void {
  for (const [code, entry] of Object.entries(catalogue)) {
    // UPPER_SNAKE for Spool's own; AWS's error names pass through as AWS spells them.
    expect(code).toMatch(/^([A-Z][A-Z0-9_]+|[A-Z][A-Za-z]+)$/);
    expect(["transient", "permanent"]).toContain(entry.kind);
    expect(entry.meaning.trim().length, code).toBeGreaterThan(10);
    expect(entry.meaning, code).not.toMatch(/\n/);
  }
}
