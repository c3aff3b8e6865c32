/**
 * The comparison: whether the emulator holds what the template declares, and, when it does not,
 * one attempt to fix it followed by a re-read, so a gap is reported as fixed only once the
 * emulator says so.
 */
import type { Check } from "./check.js";
import type { Gap } from "./report.js";

/**
 * The form in which a declared and an observed value compare: JSON strings parsed (services
 * return policies as strings, templates declare objects), numbers and booleans as strings
 * (SQS returns every attribute as one), object keys sorted.
 */
export function canonical(value: unknown): unknown {
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("{")) {
      try {
        return canonical(JSON.parse(trimmed));
      } catch {
        return value;
      }
    }
    return value;
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

export const sameValue = (a: unknown, b: unknown): boolean =>
  JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/** A gap before it is tied to a resource. */
export type Finding = Omit<Gap, "logicalId" | "type">;

/** Compares one check and, unless `dryRun`, fixes it; undefined when there is no gap. */
export async function compareAndFix(
  check: Check,
  options: { readonly dryRun?: boolean } = {},
): Promise<Finding | undefined> {
  const equal = check.equal ?? sameValue;
  let observed: unknown;
  try {
    observed = await check.observe();
  } catch (error) {
    observed = `(cannot read: ${(error as Error).name})`;
  }
  if (equal(check.declared, observed)) return undefined;
  const found = { property: check.property, declared: check.declared, observed };
  if (!check.fix || options.dryRun) {
    return {
      ...found,
      action: "not-fixable",
      note: check.fix ? "dry run" : (check.unfixable ?? "no API changes this after creation"),
    };
  }
  try {
    await check.fix();
    const after = await check.observe();
    if (!equal(check.declared, after)) {
      return {
        ...found,
        action: "fix-failed",
        note: `still ${JSON.stringify(after)} after the fix`,
      };
    }
    return {
      ...found,
      action: "fixed",
      ...(check.noteWhenFixed ? { note: check.noteWhenFixed } : {}),
    };
  } catch (error) {
    return {
      ...found,
      action: "fix-failed",
      note: `${(error as Error).name}: ${(error as Error).message}`,
    };
  }
}
