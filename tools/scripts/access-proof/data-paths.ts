/**
 * The data paths a template wires, read from the template alone: event source mappings, rule
 * targets, schedule targets, alarm actions, function destinations and dead-letter queues, queue
 * redrive, and Step Functions tasks. Each must be allowed on AWS. (Grants toward what a function
 * is wired to by environment variable: grant-paths.ts.)
 */
import { TASKS_ENV } from "../../../lib/spool/delayed-tasks/contract.js";
import {
  type AccessPath,
  deliveryRequests,
  environmentOf,
  type IamRequest,
  keyOf,
  onBehalfOf,
  roleOf,
  tls,
} from "./access-path.js";
import type { TemplateModel } from "./template-model.js";

const allowed = (kind: string, from: string, to: string, requests: AccessPath["requests"]) =>
  ({ kind, from, to, expect: "allowed", requests }) as const satisfies AccessPath;

export function eventSourceMappings(model: TemplateModel): AccessPath[] {
  return model.ids("AWS::Lambda::EventSourceMapping").flatMap((id) => {
    const props = model.resolve(model.props(id)) as Record<string, unknown>;
    const fn = model.idOf(props.FunctionName);
    const source = model.idOf(props.EventSourceArn);
    const role = fn && roleOf(model, fn);
    if (!fn || !source || !role) return [];
    const principal = model.arnOf(role);
    const paths: AccessPath[] = [];
    const on = (action: string, resource: string): IamRequest => ({
      principal,
      action,
      resource,
      context: tls(),
    });
    if (model.typeOf(source) === "AWS::SQS::Queue") {
      const queue = model.arnOf(source);
      const requests = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
      ].map((action) => on(action, queue));
      const key = keyOf(model, source);
      if (key) requests.push(on("kms:Decrypt", model.arnOf(key)));
      paths.push(allowed("event source mapping", model.label(fn), model.label(source), requests));
    } else {
      const stream = String(props.EventSourceArn);
      paths.push(
        allowed("stream", model.label(fn), `${model.label(source)} stream`, [
          ...["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"].map(
            (action) => on(action, stream),
          ),
          on("dynamodb:ListStreams", "*"),
        ]),
      );
    }
    const destination = model.idOf(
      (props.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)?.OnFailure
        ?.Destination,
    );
    if (destination) {
      paths.push(
        allowed(
          "mapping on-failure destination",
          model.label(fn),
          model.label(destination),
          deliveryRequests(model, principal, destination, tls()),
        ),
      );
    }
    return paths;
  });
}

export function ruleTargets(model: TemplateModel): AccessPath[] {
  return model.ids("AWS::Events::Rule").flatMap((rule) => {
    const ruleArn = model.arnOf(rule);
    const targets = (model.props(rule).Targets ?? []) as Record<string, unknown>[];
    return targets.flatMap((target) => {
      const targetId = model.idOf(model.resolve(target.Arn));
      if (!targetId) return [];
      const role = model.references(target.RoleArn)[0];
      const principal = role ? model.arnOf(role) : "events.amazonaws.com";
      const context = role ? tls() : onBehalfOf(model, ruleArn);
      const paths = [
        allowed(
          "rule target",
          `rule ${model.label(rule)}`,
          model.label(targetId),
          deliveryRequests(model, principal, targetId, context),
        ),
      ];
      const dlq = model.idOf(
        model.resolve((target.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn),
      );
      if (dlq) {
        paths.push(
          allowed(
            "rule dead-letter queue",
            `rule ${model.label(rule)}`,
            model.label(dlq),
            deliveryRequests(model, "events.amazonaws.com", dlq, onBehalfOf(model, ruleArn)),
          ),
        );
      }
      return paths;
    });
  });
}

/**
 * Schedules in the template, and the one-time schedules a function creates at run time (delayed
 * tasks: the function's environment names the Scheduler's role, its targets and its DLQ).
 */
export function scheduleTargets(model: TemplateModel): AccessPath[] {
  const fromTemplate = model.ids("AWS::Scheduler::Schedule").flatMap((schedule) => {
    const target = model.props(schedule).Target as Record<string, unknown>;
    const role = model.references(target.RoleArn)[0];
    if (!role) return [];
    const targets = [target.Arn, (target.DeadLetterConfig as { Arn?: unknown })?.Arn];
    return targets.flatMap((arn) => {
      const id = model.idOf(model.resolve(arn));
      if (!id) return [];
      return [
        allowed(
          "schedule target",
          `schedule ${model.label(schedule)} (role ${model.label(role)})`,
          model.label(id),
          deliveryRequests(model, model.arnOf(role), id, tls()),
        ),
      ];
    });
  });
  const atRunTime = model.ids("AWS::Lambda::Function").flatMap((fn) => {
    const env = environmentOf(model, fn);
    const role = model.idOf(env[TASKS_ENV.schedulerRoleArn]);
    if (!role) return [];
    const targets = [
      ...(JSON.parse(String(env[TASKS_ENV.targets] ?? "[]")) as string[]),
      env[TASKS_ENV.deadLetterQueueArn],
    ];
    return targets.flatMap((arn) => {
      const id = model.idOf(arn);
      if (!id) return [];
      return [
        allowed(
          "schedule target",
          `delayed tasks of ${model.label(fn)} (role ${model.label(role)})`,
          model.label(id),
          deliveryRequests(model, model.arnOf(role), id, tls()),
        ),
      ];
    });
  });
  return [...fromTemplate, ...atRunTime];
}

/** Every alarm's notifications: CloudWatch publishing, for the alarm, to each topic it names. */
export function alarmActions(model: TemplateModel): AccessPath[] {
  const alarmsByTopic = new Map<string, string[]>();
  for (const alarm of model.ids("AWS::CloudWatch::Alarm")) {
    const props = model.props(alarm);
    const actions = [props.AlarmActions, props.OKActions, props.InsufficientDataActions];
    for (const topic of new Set(model.references(actions))) {
      alarmsByTopic.set(topic, [...(alarmsByTopic.get(topic) ?? []), alarm]);
    }
  }
  return [...alarmsByTopic].map(([topic, alarms]) =>
    allowed(
      "alarm action",
      `${alarms.length} alarms`,
      model.label(topic),
      alarms.flatMap((alarm) =>
        deliveryRequests(
          model,
          "cloudwatch.amazonaws.com",
          topic,
          onBehalfOf(model, model.arnOf(alarm)),
        ),
      ),
    ),
  );
}

/** A function's dead-letter queue and its asynchronous-invocation destinations. */
export function functionDestinations(model: TemplateModel): AccessPath[] {
  const byFunction = model.ids("AWS::Lambda::Function").flatMap((fn) => {
    const target = (model.props(fn).DeadLetterConfig as { TargetArn?: unknown } | undefined)
      ?.TargetArn;
    return [{ fn, kind: "function dead-letter queue", target }];
  });
  const byConfig = model.ids("AWS::Lambda::EventInvokeConfig").flatMap((config) => {
    const props = model.props(config);
    const fn = model.idOf(model.resolve(props.FunctionName));
    const destinations = props.DestinationConfig as
      | Record<string, { Destination?: unknown } | undefined>
      | undefined;
    if (!fn || !destinations) return [];
    return ["OnFailure", "OnSuccess"].map((on) => ({
      fn,
      kind: `function ${on === "OnFailure" ? "on-failure" : "on-success"} destination`,
      target: destinations[on]?.Destination,
    }));
  });
  return [...byFunction, ...byConfig].flatMap(({ fn, kind, target }) => {
    const id = model.idOf(model.resolve(target));
    const role = roleOf(model, fn);
    if (!id || !role) return [];
    return [
      allowed(
        kind,
        model.label(fn),
        model.label(id),
        deliveryRequests(model, model.arnOf(role), id, tls()),
      ),
    ];
  });
}

/** Each queue's redrive to its dead-letter queue, which the DLQ's RedriveAllowPolicy must admit. */
export function redrives(model: TemplateModel): AccessPath[] {
  return model.ids("AWS::SQS::Queue").flatMap((queue) => {
    const redrive = model.props(queue).RedrivePolicy as
      | { deadLetterTargetArn?: unknown }
      | undefined;
    const dlq = model.idOf(model.resolve(redrive?.deadLetterTargetArn));
    if (!dlq) return [];
    return [
      allowed("redrive", model.label(queue), model.label(dlq), [
        { redriveFrom: queue, deadLetterQueue: dlq },
      ]),
    ];
  });
}
