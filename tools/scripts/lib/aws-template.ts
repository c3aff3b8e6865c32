import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { SpoolStack } from "../../../lib/example/spool-stack.js";

/** The account and region the real-AWS synth is made for (any account would do). */
export const AWS_ENV = { account: "123456789012", region: "us-east-1" } as const;

/**
 * The reference stack's template as `cdk deploy` would synthesize it for an AWS account (no
 * test hooks), without bundling: the checks that read it (cfn-lint, cost) look at resources,
 * not code.
 */
export function awsTemplate(): Record<string, unknown> {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new SpoolStack(app, "Spool", {
    env: AWS_ENV,
  });
  return Template.fromStack(stack).toJSON();
}
