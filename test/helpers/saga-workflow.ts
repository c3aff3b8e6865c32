import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AttributeType, Table } from "aws-cdk-lib/aws-dynamodb";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import {
  type SagaStep,
  SagaWorkflow,
  type SagaWorkflowProps,
} from "../../lib/spool/saga-workflow/index.js";
import { templateApp } from "./template-app.js";

/**
 * Unit-test helpers for SagaWorkflow: a workflow of four steps (two undoable) in a fresh stack,
 * and its state machine definition as JSON to walk.
 */

export type State = Record<string, unknown> & {
  Type: string;
  Next?: string;
  Retry?: Record<string, unknown>[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Choices?: Record<string, unknown>[];
  Default?: string;
  Parameters?: Record<string, unknown>;
};
export type Definition = { StartAt: string; States: Record<string, State> };

export function fn(stack: Stack, id: string) {
  return new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: Code.fromInline("exports.handler = async () => ({ outcome: 'ok' })"),
  });
}

export function build(
  options: { jobs?: boolean; steps?: (stack: Stack) => SagaStep[] } & Partial<
    Omit<SagaWorkflowProps, "steps" | "jobTable">
  > = {},
) {
  const { jobs = true, steps, ...rest } = options;
  const app = templateApp();
  const stack = new Stack(app, "Test", { env: { account: "111111111111", region: "eu-west-1" } });
  const table = jobs
    ? new Table(stack, "Jobs", { partitionKey: { name: "jobId", type: AttributeType.STRING } })
    : undefined;
  const saga = new SagaWorkflow(stack, "Saga", {
    steps: steps?.(stack) ?? [
      { name: "reserve", function: fn(stack, "Reserve"), compensation: fn(stack, "Release") },
      { name: "charge", function: fn(stack, "Charge"), compensation: fn(stack, "Refund") },
      { name: "confirm", function: fn(stack, "Confirm") },
      { name: "notify", function: fn(stack, "Notify") },
    ],
    ...(table ? { jobTable: table } : {}),
    ...rest,
  });
  const template = Template.fromStack(stack);
  return { stack, saga, template, definition: definitionOf(template) };
}

export function definitionOf(template: Template): Definition {
  const [machine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
  if (!machine) throw new Error("no state machine in the template");
  const body = (machine.Properties as { DefinitionString: unknown }).DefinitionString as {
    "Fn::Join": [string, unknown[]];
  };
  const text = body["Fn::Join"][1].map((p) => (typeof p === "string" ? p : "TOKEN")).join("");
  return JSON.parse(text) as Definition;
}

export function state(definition: Definition, name: string): State {
  const s = definition.States[name];
  if (!s) throw new Error(`no state "${name}" in ${Object.keys(definition.States).join(", ")}`);
  return s;
}

/** The names visited from `start` following Next until a state without one. */
export function path(definition: Definition, start: string): string[] {
  const names = [start];
  let current = state(definition, start);
  while (current.Next) {
    names.push(current.Next);
    current = state(definition, current.Next);
  }
  return names;
}
