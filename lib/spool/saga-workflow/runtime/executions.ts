import { createHash } from "node:crypto";
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  type HistoryEvent,
  paginateGetExecutionHistory,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { canonicalJson } from "../../runtime/canonical-json.js";
import { PermanentError } from "../../runtime/errors.js";

/**
 * Starting Step Functions executions idempotently, and reading back what one did.
 */

/** Step Functions' limit on execution names. */
export const MAX_EXECUTION_NAME = 80;
const SAFE_NAME = /^[A-Za-z0-9_-]+$/;
const HASH_CHARS = 16;

/**
 * The execution name for a business key: the key itself when it is already a safe name, else a
 * readable prefix plus a hash of the whole key, so different keys never share a name and the
 * same key always gets the same one. Safe = letters, digits, `-` and `_` (Step Functions also
 * refuses whitespace, brackets, wildcards and most punctuation, and CloudWatch Logs dislikes
 * non-ASCII names).
 */
export function executionNameFor(businessKey: string): string {
  if (businessKey.length === 0) throw new Error("the business key must not be empty");
  if (businessKey.length <= MAX_EXECUTION_NAME && SAFE_NAME.test(businessKey)) return businessKey;
  const hash = createHash("sha256").update(businessKey, "utf8").digest("hex").slice(0, HASH_CHARS);
  const prefix = businessKey
    .replace(/[^A-Za-z0-9_-]/g, "_")
    .slice(0, MAX_EXECUTION_NAME - HASH_CHARS - 1);
  return `${prefix}-${hash}`;
}

/** The ARN an execution of `stateMachineArn` named `name` has (or would have). */
export function executionArnFor(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(":");
  if (parts.length < 7 || parts[5] !== "stateMachine") {
    throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  }
  return [...parts.slice(0, 5), "execution", parts[6], name].join(":");
}

export interface IdempotentStart {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  /** Deterministic for the work (see executionNameFor). */
  readonly name: string;
  readonly input: unknown;
  /**
   * Whether an existing execution's input describes the same work as `input`. Compare the
   * business content only: a resent message may carry a new correlation id for the same order.
   * @default canonical JSON equality of the whole input
   */
  readonly sameWork?: (existing: unknown, requested: unknown) => boolean;
}

export type StartOutcome =
  | { readonly status: "started"; readonly executionArn: string }
  | {
      readonly status: "duplicate";
      readonly executionArn: string;
      readonly executionStatus: DescribeExecutionCommandOutput["status"];
    };

/**
 * Starts the execution named for the work, or recognises that it already exists.
 *
 * The execution name is the exactly-once boundary: Step Functions never runs two executions of
 * one state machine with one name (for 90 days after the first closes). Same name and same work
 * → the existing execution is the answer ("duplicate"); same name and different work is a
 * business-key collision that retrying cannot fix → PermanentError `EXECUTION_NAME_REUSED`.
 *
 * AWS itself answers a same-name, same-input StartExecution with the running execution, but
 * raises ExecutionAlreadyExists once it has closed (and MiniStack always raises it), so the
 * comparison is made here in every case.
 */
export async function startExecutionIdempotently(start: IdempotentStart): Promise<StartOutcome> {
  const input = JSON.stringify(start.input);
  const sameWork = start.sameWork ?? ((a, b) => canonicalJson(a) === canonicalJson(b));
  try {
    const started = await start.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: start.stateMachineArn,
        name: start.name,
        input,
      }),
    );
    // On AWS this may be the running execution of an identical earlier start: still one run.
    return {
      status: "started",
      executionArn: started.executionArn ?? executionArnFor(start.stateMachineArn, start.name),
    };
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists || nameOf(error) === "ExecutionAlreadyExists")) {
      throw error;
    }
  }
  const executionArn = executionArnFor(start.stateMachineArn, start.name);
  const existing = await start.sfn.send(new DescribeExecutionCommand({ executionArn }));
  if (!sameWork(parseJson(existing.input), start.input)) {
    throw new PermanentError(
      `execution ${start.name} already exists for different work: the business key was reused`,
      {
        code: "EXECUTION_NAME_REUSED",
        details: {
          executionArn,
          executionStatus: existing.status,
          existingInput: truncate(existing.input ?? "", 500),
        },
      },
    );
  }
  return { status: "duplicate", executionArn, executionStatus: existing.status };
}

function nameOf(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** One visit of a state in an execution, read from its history. */
export interface StateVisit {
  readonly name: string;
  /** Task, Choice, Pass, Fail, … */
  readonly type: string;
  readonly enteredAt: string;
  exitedAt?: string;
  /** Each failed attempt (a retried or caught error), in order. */
  readonly failures: { readonly error: string; readonly cause: string; readonly at: string }[];
  /** A task's result (what its Lambda returned), cut to 1,000 characters. */
  result?: string;
}

export interface ExecutionSummary {
  readonly executionArn: string;
  readonly name: string | undefined;
  readonly status: DescribeExecutionCommandOutput["status"];
  readonly startDate: string | undefined;
  readonly stopDate: string | undefined;
  readonly error: string | undefined;
  readonly cause: string | undefined;
  /** Every state entered, in order: the path the execution took. */
  readonly states: StateVisit[];
}

const FAILURE_EVENTS = new Set([
  "TaskFailed",
  "TaskTimedOut",
  "LambdaFunctionFailed",
  "LambdaFunctionTimedOut",
  "LambdaFunctionStartFailed",
  "LambdaFunctionScheduleFailed",
]);

/** The failure details of a history event, whichever kind of failure it is. */
function failureOf(event: HistoryEvent): { error: string; cause: string } | undefined {
  if (!event.type || !FAILURE_EVENTS.has(event.type)) return undefined;
  const details =
    event.taskFailedEventDetails ??
    event.taskTimedOutEventDetails ??
    event.lambdaFunctionFailedEventDetails ??
    event.lambdaFunctionTimedOutEventDetails ??
    event.lambdaFunctionStartFailedEventDetails ??
    event.lambdaFunctionScheduleFailedEventDetails;
  return { error: details?.error ?? event.type, cause: details?.cause ?? "" };
}

function iso(date: Date | string | undefined): string | undefined {
  if (date === undefined) return undefined;
  return typeof date === "string" ? date : date.toISOString();
}

/** Folds an execution's history into the states it visited (linear workflows: no Parallel/Map). */
export function statesFromHistory(events: HistoryEvent[]): StateVisit[] {
  const visits: StateVisit[] = [];
  let current: StateVisit | undefined;
  for (const event of events) {
    const type = event.type ?? "";
    const at = iso(event.timestamp) ?? "";
    if (type.endsWith("StateEntered") && event.stateEnteredEventDetails) {
      current = {
        name: event.stateEnteredEventDetails.name ?? "",
        type: type.slice(0, -"StateEntered".length),
        enteredAt: at,
        failures: [],
      };
      visits.push(current);
      continue;
    }
    if (type.endsWith("StateExited") && current) {
      current.exitedAt = at;
      continue;
    }
    const succeeded =
      event.taskSucceededEventDetails?.output ?? event.lambdaFunctionSucceededEventDetails?.output;
    if (succeeded !== undefined && current) {
      current.result = truncate(succeeded, 1_000);
      continue;
    }
    const failure = failureOf(event);
    if (failure && current) current.failures.push({ ...failure, at });
  }
  return visits;
}

/** What an execution did: its status and the states it went through. */
export async function summarizeExecution(
  sfn: SFNClient,
  executionArn: string,
): Promise<ExecutionSummary> {
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const events: HistoryEvent[] = [];
  for await (const page of paginateGetExecutionHistory(
    { client: sfn },
    { executionArn, includeExecutionData: true, maxResults: 1000 },
  )) {
    events.push(...(page.events ?? []));
  }
  return {
    executionArn,
    name: described.name,
    status: described.status,
    startDate: iso(described.startDate),
    stopDate: iso(described.stopDate),
    error: described.error,
    cause: described.cause,
    states: statesFromHistory(events),
  };
}
