import { invalid } from "../spool/runtime/validation.js";

/** The stack `cdk deploy` creates unless `-c spool:stack=<name>` says otherwise. */
export const DEFAULT_STACK_NAME = "Spool";

/** CloudFormation's rule for a stack name. */
const STACK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/**
 * The stack name from the `spool:stack` context value (`-c spool:stack=<name>`), so two
 * deployments (blue/green, one per developer) can share an account and region. Refused at synth,
 * before CloudFormation would refuse it mid-deploy.
 */
export function stackNameFromContext(value: unknown): string {
  if (value === undefined) return DEFAULT_STACK_NAME;
  if (typeof value !== "string" || !STACK_NAME_PATTERN.test(value)) {
    invalid(
      undefined,
      `-c spool:stack must be a CloudFormation stack name (a letter, then letters, digits or hyphens; at most 128 characters), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
