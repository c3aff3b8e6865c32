import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { EMULATOR_ACCOUNT, SpoolStack } from "../../../../lib/example/spool-stack.js";

/** Synthesizes the reference stack without bundling (the definition is what matters here). */
function synth(account: string, testHooks: boolean) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new SpoolStack(app, "Spool", {
    env: { account, region: "us-east-1" },
    testHooks,
  });
  const template = Template.fromStack(stack);
  const [machine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
  if (!machine) throw new Error("no state machine");
  const parts = (machine.Properties.DefinitionString as { "Fn::Join": [string, unknown[]] })[
    "Fn::Join"
  ][1];
  const definition = parts.map((p) => (typeof p === "string" ? p : "TOKEN")).join("");
  return { template, definition: JSON.parse(definition) as Record<string, unknown> };
}

const envOf = (template: Template) =>
  Object.values(template.findResources("AWS::Lambda::Function")).map(
    (f) => (f.Properties.Environment?.Variables ?? {}) as Record<string, unknown>,
  );

describe("the fulfilment saga in the reference stack", () => {
  it("carries no fault directives and production retries outside the emulator", () => {
    const { template, definition } = synth("111111111111", false);
    const text = JSON.stringify(definition);
    expect(text).not.toContain("faults");
    expect(definition.TimeoutSeconds).toBe(3600);
    expect(text).toContain('"IntervalSeconds":2');
    for (const env of envOf(template)) expect(env).not.toHaveProperty("SPOOL_FAULT_INJECTION");
  });

  it("passes fault directives and retries in seconds in test deployments", () => {
    const { template, definition } = synth(EMULATOR_ACCOUNT, true);
    const text = JSON.stringify(definition);
    expect(text).toContain('"faults.$":"$.faults"');
    expect(text).toContain('"IntervalSeconds":1');
    expect(definition.TimeoutSeconds).toBe(30);
    const starter = envOf(template).find((env) => env.SPOOL_CONSUMER_NAME === "fulfilment-starter");
    expect(starter?.SPOOL_FAULT_INJECTION).toBe("enabled");
  });
});
