/**
 * The tasks of every state machine's definition (Lambda, DynamoDB, SQS, SNS and Step Functions
 * integrations, in nested branches and maps too), each a request by the machine's role.
 */
import { type AccessPath, type IamRequest, roleOf, tls } from "./access-path.js";
import type { TemplateModel } from "./template-model.js";

/** The tasks of every state machine's definition, each as a request by its role. */
export function stateMachineTasks(model: TemplateModel): AccessPath[] {
  return model.ids("AWS::StepFunctions::StateMachine").flatMap((machine) => {
    const role = roleOf(model, machine);
    if (!role) return [];
    const definition = JSON.parse(String(model.resolve(model.props(machine).DefinitionString)));
    const requests = new Map<string, IamRequest>();
    for (const task of tasksOf(definition)) {
      const request = taskRequest(model, task);
      if (request) {
        requests.set(`${request.action} ${request.resource}`, {
          ...request,
          principal: model.arnOf(role),
        });
      }
    }
    return [...requests.values()].map(
      (request): AccessPath => ({
        kind: "state machine task",
        from: model.label(machine),
        to: model.label(model.idOf(request.resource) ?? request.resource),
        expect: "allowed",
        requests: [request],
      }),
    );
  });
}

interface Task {
  readonly Resource: string;
  readonly Parameters?: Record<string, unknown>;
}

function tasksOf(definition: { States?: Record<string, Record<string, unknown>> }): Task[] {
  return Object.values(definition.States ?? {}).flatMap((state) => {
    const nested = [
      ...((state.Branches as object[] | undefined) ?? []),
      ...[state.ItemProcessor, state.Iterator].filter(Boolean),
    ] as { States?: Record<string, Record<string, unknown>> }[];
    const own = state.Type === "Task" ? [state as unknown as Task] : [];
    return [...own, ...nested.flatMap(tasksOf)];
  });
}

function taskRequest(model: TemplateModel, task: Task): Omit<IamRequest, "principal"> | undefined {
  const context = tls();
  const direct = model.idOf(task.Resource);
  if (direct) return { action: "lambda:InvokeFunction", resource: model.arnOf(direct), context };
  const integration = /^arn:[^:]+:states:::([a-z0-9-]+):([A-Za-z]+)/.exec(task.Resource);
  if (!integration) return undefined;
  const [, service, api = ""] = integration;
  const p = task.Parameters ?? {};
  const target: Record<string, unknown> = {
    lambda: p.FunctionName,
    dynamodb: p.TableName,
    sqs: p.QueueUrl,
    sns: p.TopicArn,
    states: p.StateMachineArn,
  };
  const id = model.idOf(target[service ?? ""]);
  if (!id) return undefined;
  const action =
    service === "lambda"
      ? "lambda:InvokeFunction"
      : `${service}:${api.charAt(0).toUpperCase()}${api.slice(1)}`;
  return { action, resource: model.arnOf(id), context };
}
