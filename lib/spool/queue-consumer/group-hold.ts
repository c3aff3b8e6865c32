import type { IConstruct } from "constructs";
import { CONSUMER_ENV } from "../runtime/consumer-config.js";
import { invalid } from "../runtime/validation.js";

/**
 * Checks `holdGroupOnDeadLetter` (runtime/group-hold.ts): only a FIFO source has groups whose
 * order a hold keeps, and the holds live in the idempotency table. Returns the function's
 * environment for it (empty when off).
 */
export function groupHoldEnvironment(
  scope: IConstruct,
  hold: boolean | undefined,
  source: { readonly fifo: boolean },
  hasIdempotencyTable: boolean,
): Record<string, string> {
  if (!hold) return {};
  if (!source.fifo) {
    invalid(
      scope,
      "holdGroupOnDeadLetter needs a FIFO source (a standard queue has no message groups to hold), got true on a standard queue",
    );
  }
  if (!hasIdempotencyTable) {
    invalid(
      scope,
      "holdGroupOnDeadLetter needs idempotencyTable (each group's hold is kept there), got true and no idempotencyTable",
    );
  }
  return { [CONSUMER_ENV.holdGroupOnDeadLetter]: "true" };
}
