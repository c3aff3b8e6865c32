import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { type LambdaClient, UpdateEventSourceMappingCommand } from "@aws-sdk/client-lambda";
import type { Operator } from "./audit.js";
import type { ConsumerAudit, ConsumerChangeFinished } from "./change-audits.js";
import {
  type Consumer,
  type ConsumerAction,
  progressOf,
  readMapping,
  TARGET_STATE,
} from "./consumers.js";
import { SpoolCliError } from "./errors.js";

export interface ConsumerChangeRequest {
  readonly consumer: Consumer;
  readonly action: ConsumerAction;
  readonly dryRun: boolean;
  /** How long to wait for the mapping to report the new state. */
  readonly waitSeconds: number;
  /** How often to read the mapping while waiting (1 s). */
  readonly pollMs?: number;
}

export interface ConsumerChangeDeps {
  readonly lambda: LambdaClient;
  /** Required unless the request is a dry run or changes nothing. */
  readonly audit: ConsumerAudit | undefined;
  readonly operator: Operator;
  readonly stack: string;
  readonly signal: AbortSignal;
}

export interface ConsumerChangeOutcome {
  readonly consumer: string;
  readonly queue: string;
  readonly functionName: string;
  readonly mappingUuid: string;
  readonly action: ConsumerAction;
  /**
   * `changed`: this run asked for it and the mapping got there; `unchanged`: it was there
   * already; `joined`: someone else's change was already under way and got there;
   * `dry-run`: nothing was asked.
   */
  readonly outcome: "changed" | "unchanged" | "joined" | "dry-run";
  readonly before: string;
  /** The state now (for a dry run, the state it would end in). */
  readonly after: string;
  /** The audit record of a change this run asked for. */
  readonly changeId: string | undefined;
  readonly waitedMs: number;
}

type Waited = { readonly state: string; readonly end: "reached" | "timed-out" | "interrupted" };

/** Reads the mapping until it reports `target`, the deadline passes or the operator stops it. */
async function waitForState(
  lambda: LambdaClient,
  uuid: string,
  target: string,
  deadline: number,
  pollMs: number,
  signal: AbortSignal,
): Promise<Waited> {
  for (;;) {
    const state = (await readMapping(lambda, uuid)).State ?? "unknown";
    if (state === target) return { state, end: "reached" };
    if (signal.aborted) return { state, end: "interrupted" };
    const left = deadline - Date.now();
    if (left <= 0) return { state, end: "timed-out" };
    await delay(Math.min(pollMs, left), undefined, { signal }).catch(() => undefined);
  }
}

/**
 * Pauses (disables the event source mapping of) or resumes (enables) a consumer, then waits until
 * Lambda reports the new state: a disable is only done when the mapping says Disabled, since until
 * then its pollers may still take batches. Idempotent: a consumer already in the state asked for
 * is left alone, and one already on its way there (someone else's change) is only waited for.
 * A change this run makes is recorded before the mapping is touched and completed after.
 */
export async function changeConsumerState(
  request: ConsumerChangeRequest,
  deps: ConsumerChangeDeps,
): Promise<ConsumerChangeOutcome> {
  const { consumer, action } = request;
  const target = TARGET_STATE[action];
  const started = Date.now();
  const before = (await readMapping(deps.lambda, consumer.uuid)).State ?? "unknown";
  const outcome = (
    result: ConsumerChangeOutcome["outcome"],
    after: string,
    changeId?: string,
  ): ConsumerChangeOutcome => ({
    consumer: consumer.name,
    queue: consumer.queue,
    functionName: consumer.functionName,
    mappingUuid: consumer.uuid,
    action,
    outcome: result,
    before,
    after,
    changeId,
    waitedMs: Date.now() - started,
  });
  const progress = progressOf(action, before);
  if (progress === "there") return outcome("unchanged", before);
  if (request.dryRun) return outcome("dry-run", target);
  const deadline = started + request.waitSeconds * 1000;
  const pollMs = request.pollMs ?? 1000;
  const notThere = (w: Waited, changeId?: string) =>
    new SpoolCliError(
      w.end === "interrupted"
        ? `interrupted while waiting for consumer ${consumer.name} to ${action}: its event source mapping ${consumer.uuid} reports ${w.state}; the change was asked for and Lambda carries it out (spool consumers list)`
        : `consumer ${consumer.name}: its event source mapping ${consumer.uuid} still reports ${w.state} after ${request.waitSeconds} s, not ${target}; Lambda may still get there (spool consumers list)${changeId ? `; recorded as change ${changeId}` : ""}`,
    );

  if (progress === "on-its-way") {
    // Someone else asked already (and their change is recorded): wait for it, ask nothing.
    const waited = await waitForState(
      deps.lambda,
      consumer.uuid,
      target,
      deadline,
      pollMs,
      deps.signal,
    );
    if (waited.end !== "reached") throw notThere(waited);
    return outcome("joined", waited.state);
  }

  if (!deps.audit) throw new Error(`a ${action} needs an audit table (every change is recorded)`);
  const changeId = randomUUID();
  await deps.audit.started({
    changeId,
    stack: deps.stack,
    action,
    consumer: consumer.name,
    queueArn: consumer.queueArn,
    functionName: consumer.functionName,
    mappingUuid: consumer.uuid,
    before,
    requested: target,
    operator: deps.operator,
    startedAt: new Date(started).toISOString(),
  });
  const finish = (record: Omit<ConsumerChangeFinished, "finishedAt">) =>
    deps.audit?.finished(changeId, { ...record, finishedAt: new Date().toISOString() });
  let waited: Waited;
  try {
    await deps.lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: consumer.uuid, Enabled: action === "resume" }),
    );
    waited = await waitForState(deps.lambda, consumer.uuid, target, deadline, pollMs, deps.signal);
  } catch (error) {
    await finish({ status: "failed", after: undefined, error: String(error) });
    throw error;
  }
  if (waited.end !== "reached") {
    await finish({ status: waited.end, after: waited.state });
    throw notThere(waited, changeId);
  }
  await finish({ status: "completed", after: waited.state });
  return outcome("changed", waited.state, changeId);
}
