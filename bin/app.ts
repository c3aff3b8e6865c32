import { App } from "aws-cdk-lib";
import { EMULATOR_ACCOUNT, SpoolStack } from "../lib/example/spool-stack.js";
import { stackNameFromContext } from "../lib/example/stack-name.js";

/**
 * `cdk deploy` targets the account and region of your AWS credentials.
 * `-c spool:local=true` (set by `npm run deploy:local`) targets the local emulator's account and
 * turns on test hooks (fault injection, short retry timings); the stack refuses them elsewhere.
 * `-c spool:stack=<name>` names the stack (default `Spool`), so two deployments share an account.
 */
const app = new App();
const flag = (name: string) => [true, "true"].includes(app.node.tryGetContext(name));
const local = flag("spool:local");
const env = local
  ? { account: EMULATOR_ACCOUNT, region: process.env.AWS_REGION ?? "us-east-1" }
  : { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

new SpoolStack(app, stackNameFromContext(app.node.tryGetContext("spool:stack")), {
  description: "Spool: reliable queues, idempotent consumers, schedules, workflows and events",
  env,
  testHooks: local,
});
