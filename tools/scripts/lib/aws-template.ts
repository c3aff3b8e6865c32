import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { SpoolStack } from "../../../lib/example/spool-stack.js";
import { DEFAULT_STACK_NAME } from "../../../lib/example/stack-name.js";

/** The account and region the real-AWS synth is made for (any account would do). */
export const AWS_ENV = { account: "123456789012", region: "us-east-1" } as const;

/**
 * The reference stack's template as `cdk deploy` would synthesize it for an AWS account (no
 * test hooks), without bundling: the checks that read it (cfn-lint, cost) look at resources,
 * not code. `stackName` as `-c spool:stack=<name>` would set it.
 */
export function awsTemplate(stackName = DEFAULT_STACK_NAME): Record<string, unknown> {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new SpoolStack(app, stackName, {
    env: AWS_ENV,
  });
  return Template.fromStack(stack).toJSON();
}
