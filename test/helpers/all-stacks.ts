import { App, type Stack } from "aws-cdk-lib";
import { EMULATOR_ACCOUNT, SpoolStack } from "../../lib/example/spool-stack.js";
import { SpoolBenchStack } from "../../tools/bench/bench-stack.js";

/**
 * Every stack this repository can deploy, in each of its variants, synthesized without
 * bundling (the security gates read templates, not code).
 */
export function allStacks(): { name: string; stack: Stack }[] {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const aws = { account: "111111111111", region: "us-east-1" };
  const local = { account: EMULATOR_ACCOUNT, region: "us-east-1" };
  const stacks = [
    { name: "Spool (AWS)", stack: new SpoolStack(app, "SpoolAws", { env: aws }) },
    {
      name: "Spool (emulator, test hooks)",
      stack: new SpoolStack(app, "SpoolLocal", { env: local, testHooks: true }),
    },
    { name: "SpoolBench", stack: new SpoolBenchStack(app, "SpoolBench", { env: local }) },
  ];
  // Synthesis runs the aspects that record acknowledgments from the final IAM policies, as it
  // does before any validation plugin in a real app.
  app.synth();
  return stacks;
}
