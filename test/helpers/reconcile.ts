import type { Check } from "../../tools/scripts/reconcile/check.js";

/** The check of one property among a checker's checks; a missing one fails the test by name. */
export function checkFor(checks: readonly Check[], property: string): Check {
  const check = checks.find((c) => c.property === property);
  if (!check) {
    throw new Error(`no check for ${property}; got ${checks.map((c) => c.property).join(", ")}`);
  }
  return check;
}
