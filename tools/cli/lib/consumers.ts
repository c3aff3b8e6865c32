import type { EventSourceMappingConfiguration, LambdaClient } from "@aws-sdk/client-lambda";
import { SpoolCliError } from "./errors.js";
import { mapLimited } from "./map-limited.js";
import type { StackInventory } from "./stack.js";

/**
 * A consumer: a Lambda function reading an SQS queue of the stack through an event source
 * mapping. Pausing one disables its mapping; the queue keeps every message.
 */
export interface Consumer {
  /** The name `spool status` gives its queue ("notifications"); `<queue>@<function>` when a
   * queue has several consumers. */
  readonly name: string;
  /** Its queue's friendly name, or the SQS name of a queue outside the stack. */
  readonly queue: string;
  readonly queueName: string;
  readonly queueArn: string;
  readonly functionName: string;
  /** The event source mapping's UUID. */
  readonly uuid: string;
  /** The mapping's state: Enabled, Disabled, or a transition (Enabling, Disabling, Updating…). */
  readonly state: string;
  readonly stateTransitionReason: string | undefined;
  readonly batchSize: number | undefined;
  /** `ScalingConfig.MaximumConcurrency`; undefined when the mapping sets none. */
  readonly maxConcurrency: number | undefined;
}

/** The mapping states a pause or resume ends in, and the transitions that lead to them. */
export const TARGET_STATE = { pause: "Disabled", resume: "Enabled" } as const;
const ON_ITS_WAY = { pause: "Disabling", resume: "Enabling" } as const;
export type ConsumerAction = keyof typeof TARGET_STATE;

/** Lambda's control plane allows few requests per second; a stack has tens of mappings. */
const READ_CONCURRENCY = 4;

/** "arn:aws:lambda:…:function:name[:qualifier]" → "name". */
export function functionNameOfArn(arn: string | undefined): string {
  return arn?.split(":")[6] ?? "?";
}

function queueNameOfArn(arn: string): string {
  return arn.split(":").pop() ?? arn;
}

/**
 * Every consumer of the stack: its `AWS::Lambda::EventSourceMapping` resources whose source is an
 * SQS queue (stream mappings, like the outbox publisher's, are not consumers of a queue), each
 * read with `GetEventSourceMapping` for its current state, named as `spool status` names the
 * queue it reads.
 */
export async function loadConsumers(
  lambda: LambdaClient,
  inventory: StackInventory,
): Promise<Consumer[]> {
  const uuids = inventory.resources
    .filter((r) => r.ResourceType === "AWS::Lambda::EventSourceMapping" && r.PhysicalResourceId)
    .map((r) => r.PhysicalResourceId as string);
  const mappings = await mapLimited(uuids, READ_CONCURRENCY, (uuid) => readMapping(lambda, uuid));
  const byArn = new Map(inventory.queues.map((q) => [q.arn, q]));
  const consumers = mappings
    .filter((m) => m.EventSourceArn?.split(":")[2] === "sqs")
    .map((m) => {
      const queueArn = m.EventSourceArn as string;
      const queue = byArn.get(queueArn);
      return {
        name: queue?.name ?? queueNameOfArn(queueArn),
        queue: queue?.name ?? queueNameOfArn(queueArn),
        queueName: queue?.queueName ?? queueNameOfArn(queueArn),
        queueArn,
        functionName: functionNameOfArn(m.FunctionArn),
        uuid: m.UUID as string,
        state: m.State ?? "unknown",
        stateTransitionReason: m.StateTransitionReason,
        batchSize: m.BatchSize,
        maxConcurrency: m.ScalingConfig?.MaximumConcurrency,
      } satisfies Consumer;
    });
  const perQueue = new Map<string, number>();
  for (const c of consumers) perQueue.set(c.queueArn, (perQueue.get(c.queueArn) ?? 0) + 1);
  return consumers
    .map((c) =>
      (perQueue.get(c.queueArn) ?? 0) > 1 ? { ...c, name: `${c.queue}@${c.functionName}` } : c,
    )
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function readMapping(
  lambda: LambdaClient,
  uuid: string,
): Promise<EventSourceMappingConfiguration> {
  // Loaded here, not at the top: `spool status` renders consumers' states with this module's
  // helpers, and the commands declare themselves without loading the SDK.
  const { GetEventSourceMappingCommand } = await import("@aws-sdk/client-lambda");
  return lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
}

/**
 * The consumer an operator means: its name, its queue's SQS name or ARN, its function's
 * name or its mapping's UUID. Anything else is a bad argument (exit 2) naming the known ones.
 */
export function findConsumer(
  consumers: readonly Consumer[],
  ref: string,
  stackName: string,
): Consumer {
  const wanted = ref.trim();
  const found = consumers.filter(
    (c) =>
      c.name === wanted ||
      c.uuid === wanted ||
      c.functionName === wanted ||
      c.queueArn === wanted ||
      c.queueName === wanted ||
      c.queue === wanted,
  );
  const known = consumers.map((c) => c.name).join(", ") || "none";
  if (found.length === 1) return found[0] as Consumer;
  if (found.length > 1) {
    throw new SpoolCliError(
      `"${ref}" names ${found.length} consumers in stack ${stackName}: ${found.map((c) => c.name).join(", ")}`,
      2,
    );
  }
  throw new SpoolCliError(`no consumer "${ref}" in stack ${stackName}; its consumers: ${known}`, 2);
}

/**
 * What `spool status` prints beside a queue whose consumer is not simply running: `paused`, or
 * the transition under way. Undefined for an enabled mapping.
 */
export function stateMarker(state: string): string | undefined {
  switch (state) {
    case "Enabled":
      return undefined;
    case "Disabled":
      return "paused";
    case "Disabling":
      return "pausing";
    case "Enabling":
      return "resuming";
    default:
      return state.toLowerCase();
  }
}

/** Whether a state is the one `action` leads to, or already on its way there. */
export function progressOf(action: ConsumerAction, state: string): "there" | "on-its-way" | "no" {
  if (state === TARGET_STATE[action]) return "there";
  if (state === ON_ITS_WAY[action]) return "on-its-way";
  return "no";
}
