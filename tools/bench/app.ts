import { App } from "aws-cdk-lib";
import { EMULATOR_ACCOUNT } from "../../lib/example/spool-stack.js";
import { SpoolBenchStack } from "./bench-stack.js";

/** The benchmark's own CDK app (`npm run bench` deploys it beside the reference stack). */
const app = new App();
new SpoolBenchStack(app, "SpoolBench", {
  env: { account: EMULATOR_ACCOUNT, region: process.env.AWS_REGION ?? "us-east-1" },
});
