import { App } from "aws-cdk-lib";

/**
 * An App whose stacks synthesize without running esbuild (CDK's `aws:cdk:bundling-stacks`
 * context): for tests that assert templates, not bundles. Bundling is proven where it matters:
 * the AWS variant of the reference stack (spool-stack.test.ts), SpoolFunction's own tests, the
 * copy test's scratch apps, and every deploy to the emulator.
 */
export function templateApp(): App {
  return new App({ context: { "aws:cdk:bundling-stacks": [] } });
}
