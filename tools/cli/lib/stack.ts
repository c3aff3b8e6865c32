import type { StackResourceSummary } from "@aws-sdk/client-cloudformation";
import {
  LANE_METADATA_KEY,
  type LaneMetadata,
} from "../../../lib/spool/priority-lanes/contract.js";
import { uniqueNames } from "../../../lib/spool/spool-monitoring/names.js";
import type { AwsClients } from "./aws.js";
import { SpoolCliError } from "./errors.js";
import {
  keepTemplateFacts,
  readTemplateFacts,
  stackVersionKey,
  type TemplateFacts,
} from "./template-cache.js";

export interface QueueRef {
  readonly url: string;
  readonly arn: string;
  /** The SQS name (last part of the URL). */
  readonly queueName: string;
  readonly fifo: boolean;
  /**
   * Its message counts as the inventory read them (with its other attributes, in the same
   * request): what `spool status` shows, saving a second read of every queue. A snapshot: a
   * command that acts on a queue reads its counts again.
   */
  readonly counts?: QueueCounts;
}

export interface QueueCounts {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

/** The SQS attributes behind QueueCounts. */
export const COUNT_ATTRIBUTES = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
] as const;

export function countsOf(attributes: Readonly<Record<string, string>>): QueueCounts {
  return {
    visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** A queue that work is sent to (not some queue's dead-letter queue). */
export interface SourceQueue extends QueueRef {
  /** Its friendly name: the construct id in kebab case, as the alarms call it ("orders"). */
  readonly name: string;
  /** Its construct path in the stack, when the template records one. */
  readonly path: string | undefined;
  /** From the queue's RedrivePolicy. */
  readonly deadLetterQueue: QueueRef | undefined;
  readonly maxReceiveCount: number | undefined;
  /** When it is one lane of a PriorityLanes group: the group, the lane and its rank (0 = highest). */
  readonly lane?: LaneMetadata;
}

/** What a deployed Spool stack holds, as far as the CLI needs it. */
export interface StackInventory {
  readonly stackName: string;
  readonly queues: readonly SourceQueue[];
  readonly outputs: Readonly<Record<string, string>>;
  readonly resources: readonly StackResourceSummary[];
  /** Logical id → construct path (CDK's `aws:cdk:path` metadata). */
  readonly paths: ReadonlyMap<string, string>;
}

interface TemplateResource {
  readonly Type?: string;
  readonly Metadata?: Record<string, unknown>;
}

/** "Spool/Messaging/Orders/Queue/Resource" → "Messaging/Orders" (the ReliableQueue's path). */
export function queueEntityPath(stackName: string, cdkPath: string): string {
  let path = cdkPath.startsWith(`${stackName}/`) ? cdkPath.slice(stackName.length + 1) : cdkPath;
  path = path.replace(/\/Resource$/, "");
  path = path.replace(/\/Queue$/, "");
  return path;
}

function isLaneMetadata(value: unknown): value is LaneMetadata {
  const v = value as Partial<LaneMetadata> | undefined;
  return typeof v?.group === "string" && typeof v.lane === "string" && typeof v.rank === "number";
}

export function queueNameOfUrl(url: string): string {
  return url.split("/").filter(Boolean).pop() ?? url;
}

/**
 * Reads the stack: its outputs, its resources, the construct paths its template records, and
 * every queue's attributes. Each dead-letter queue is matched to its source through the source's
 * RedrivePolicy (some emulators lack ListDeadLetterSourceQueues, and the policy is the truth).
 */
export interface InventoryOptions {
  /** Where template facts are kept between commands (template-cache.ts); none: read each time. */
  readonly cacheDir?: string;
}

export async function loadInventory(
  clients: AwsClients,
  stackName: string,
  options: InventoryOptions = {},
): Promise<StackInventory> {
  // Loaded here, not at the top: every command looks things up in an inventory (findQueue,
  // requireOutput…) as it declares itself, and declaring must not load the SDK.
  const { DescribeStacksCommand, GetTemplateCommand, paginateListStackResources } = await import(
    "@aws-sdk/client-cloudformation"
  );
  const { GetQueueAttributesCommand } = await import("@aws-sdk/client-sqs");
  // The stack and its resources are read together: one round trip, not two. Awaited in this
  // order, so a missing stack is reported as DescribeStacks reports it; what the listing says
  // then is not awaited, and marked handled.
  const describing = clients.cloudformation.send(
    new DescribeStacksCommand({ StackName: stackName }),
  );
  const listing = (async () => {
    const resources: StackResourceSummary[] = [];
    for await (const page of paginateListStackResources(
      { client: clients.cloudformation },
      { StackName: stackName },
    )) {
      resources.push(...(page.StackResourceSummaries ?? []));
    }
    return resources;
  })();
  listing.catch(() => undefined);

  const stack = (await describing).Stacks?.[0];
  if (!stack) throw new SpoolCliError(`stack ${stackName} not found`);
  const outputs: Record<string, string> = {};
  for (const o of stack.Outputs ?? []) {
    if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  }

  // The template only when this stack version's facts are not kept (the first command after a
  // deploy): it is the slowest answer, so it overlaps the resource pages.
  const version = stackVersionKey(stack);
  const { cacheDir } = options;
  const kept = cacheDir && version ? await readTemplateFacts(cacheDir, version) : undefined;
  const templating = kept
    ? undefined
    : clients.cloudformation.send(new GetTemplateCommand({ StackName: stackName }));
  templating?.catch(() => undefined);
  const resources = await listing;
  let facts = kept;
  if (!facts) {
    facts = templateFacts((await templating)?.TemplateBody);
    if (cacheDir && version) await keepTemplateFacts(cacheDir, version, facts);
  }
  const { paths, lanes } = facts;

  const queueResources = resources.filter(
    (r) => r.ResourceType === "AWS::SQS::Queue" && r.PhysicalResourceId,
  );
  const queues = await Promise.all(
    queueResources.map(async (r) => {
      const url = r.PhysicalResourceId as string;
      const { Attributes = {} } = await clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ["QueueArn", "RedrivePolicy", "FifoQueue", ...COUNT_ATTRIBUTES],
        }),
      );
      const redrive = Attributes.RedrivePolicy
        ? (JSON.parse(Attributes.RedrivePolicy) as {
            deadLetterTargetArn?: string;
            maxReceiveCount?: number | string;
          })
        : undefined;
      return {
        logicalId: r.LogicalResourceId ?? "",
        ref: {
          url,
          arn: Attributes.QueueArn ?? "",
          queueName: queueNameOfUrl(url),
          fifo: Attributes.FifoQueue === "true" || url.endsWith(".fifo"),
          // An SQS that does not return them leaves status to read them itself.
          ...(Attributes.ApproximateNumberOfMessages !== undefined
            ? { counts: countsOf(Attributes) }
            : {}),
        } satisfies QueueRef,
        deadLetterTargetArn: redrive?.deadLetterTargetArn,
        maxReceiveCount:
          redrive?.maxReceiveCount !== undefined ? Number(redrive.maxReceiveCount) : undefined,
      };
    }),
  );

  const byArn = new Map(queues.map((q) => [q.ref.arn, q.ref]));
  const deadLetterArns = new Set(queues.map((q) => q.deadLetterTargetArn).filter(Boolean));
  const sources = queues.filter((q) => !deadLetterArns.has(q.ref.arn));
  const entityPaths = sources.map((q) => {
    const path = paths.get(q.logicalId);
    return path ? queueEntityPath(stackName, path) : undefined;
  });
  const named = sources.filter((_, i) => entityPaths[i] !== undefined);
  const names = uniqueNames(named.map((q) => entityPaths[sources.indexOf(q)] as string));

  const result: SourceQueue[] = sources.map((q, i) => {
    const path = entityPaths[i];
    const index = named.indexOf(q);
    return {
      ...q.ref,
      name: index >= 0 ? (names[index] as string) : q.ref.queueName,
      path,
      deadLetterQueue: q.deadLetterTargetArn ? byArn.get(q.deadLetterTargetArn) : undefined,
      maxReceiveCount: q.maxReceiveCount,
      ...(lanes.has(q.logicalId) ? { lane: lanes.get(q.logicalId) } : {}),
    };
  });
  // A lanes group's queues sort together, under the group's name, highest priority first.
  result.sort(
    (a, b) =>
      (a.lane?.group ?? a.name).localeCompare(b.lane?.group ?? b.name) ||
      (a.lane?.rank ?? 0) - (b.lane?.rank ?? 0) ||
      a.name.localeCompare(b.name),
  );
  return { stackName, queues: result, outputs, resources, paths };
}

/** Construct paths and lane metadata from a template body. */
function templateFacts(body: string | undefined): TemplateFacts {
  const paths = new Map<string, string>();
  const lanes = new Map<string, LaneMetadata>();
  if (body) {
    const template = JSON.parse(body) as { Resources?: Record<string, TemplateResource> };
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      const path = resource.Metadata?.["aws:cdk:path"];
      if (typeof path === "string") paths.set(logicalId, path);
      const lane = resource.Metadata?.[LANE_METADATA_KEY];
      if (isLaneMetadata(lane)) lanes.set(logicalId, lane);
    }
  }
  return { paths, lanes };
}

/**
 * The source queue an operator means by `ref`: its friendly name, its SQS name or URL, or the
 * name or URL of its dead-letter queue.
 */
export function findQueue(inventory: StackInventory, ref: string): SourceQueue {
  const wanted = ref.trim();
  const found = inventory.queues.find(
    (q) =>
      q.name === wanted ||
      q.queueName === wanted ||
      q.url === wanted ||
      q.deadLetterQueue?.queueName === wanted ||
      q.deadLetterQueue?.url === wanted,
  );
  if (!found) {
    const known = inventory.queues.map((q) => q.name).join(", ") || "none";
    throw new SpoolCliError(
      `no queue "${ref}" in stack ${inventory.stackName}; its queues: ${known}`,
    );
  }
  return found;
}

/** Like findQueue, but the queue must have a dead-letter queue. */
export function findDeadLetterQueue(
  inventory: StackInventory,
  ref: string,
): SourceQueue & { deadLetterQueue: QueueRef } {
  const queue = findQueue(inventory, ref);
  if (!queue.deadLetterQueue) {
    throw new SpoolCliError(`queue ${queue.name} has no dead-letter queue (no RedrivePolicy)`);
  }
  return queue as SourceQueue & { deadLetterQueue: QueueRef };
}

/**
 * A stack output the command needs, or a one-line error naming it and what it is for: the CLI
 * finds tables and configurations through the outputs the reference stack declares.
 */
export function requireOutput(inventory: StackInventory, name: string, what: string): string {
  const value = inventory.outputs[name];
  if (!value) {
    throw new SpoolCliError(
      `stack ${inventory.stackName} has no ${name} output (${what}): is --stack the Spool stack?`,
    );
  }
  return value;
}

/** A stack output holding JSON (a construct's runtime configuration). */
export function jsonOutput<T>(inventory: StackInventory, name: string, what: string): T {
  const text = requireOutput(inventory, name, what);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new SpoolCliError(`stack ${inventory.stackName}'s ${name} output is not JSON: ${text}`);
  }
}
