import { Token } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { BREAKER_NAME } from "../runtime/breaker-policy.js";
import { invalid } from "../runtime/validation.js";

/**
 * Checks the names of the dependency breakers a consumer declares (its handler creates them with
 * `dependencyBreaker(name, ...)`; monitoring alarms on each by name), and that the consumer has a
 * table to keep their state in.
 */
export function validateBreakers(
  scope: IConstruct,
  breakers: readonly string[] | undefined,
  hasIdempotencyTable: boolean,
): readonly string[] {
  if (!breakers) return [];
  const seen = new Set<string>();
  for (const [i, name] of breakers.entries()) {
    if (Token.isUnresolved(name)) {
      invalid(
        scope,
        `breakers[${i}] must be a literal name (alarms are named after it), got a token`,
      );
    }
    if (!BREAKER_NAME.test(name)) {
      invalid(
        scope,
        `breakers[${i}] must be 1-128 letters, digits or _ . : - (the name given to dependencyBreaker), got "${name}"`,
      );
    }
    if (seen.has(name)) invalid(scope, `breakers must not repeat a name, got "${name}" twice`);
    seen.add(name);
  }
  if (breakers.length > 0 && !hasIdempotencyTable) {
    invalid(
      scope,
      `breakers need idempotencyTable (each breaker's state is kept there), got breakers ${JSON.stringify(breakers)} and no idempotencyTable`,
    );
  }
  return breakers;
}
