/**
 * The job state machine every Spool capability shares (queue jobs, scheduled runs, workflows).
 *
 * This module is pure data and functions with no AWS SDK import, so the CDK code that builds a
 * Step Functions definition can derive its DynamoDB condition expressions from the very same
 * table that `runtime/jobs.ts` enforces at run time: one source of truth for what a legal move is.
 */

import {
  type TransitionCondition,
  type TransitionRule,
  type TransitionTable,
  transitionTable,
} from "../runtime/transitions.js";
import { JOB_KEY_ATTRIBUTE, JOB_STATUS_ATTRIBUTE } from "./contract.js";

export type { TransitionCondition };
export { JOB_KEY_ATTRIBUTE, JOB_STATUS_ATTRIBUTE };

export const JOB_STATUSES = [
  "PENDING",
  "RUNNING",
  "RETRYING",
  "COMPENSATING",
  "SUCCEEDED",
  "FAILED",
  "COMPENSATED",
  "DEAD_LETTERED",
  "CANCELED",
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

/** A job nobody has recorded yet: the source of a job's first transition. */
export const NEW_JOB = "NEW" as const;
export type JobSource = JobStatus | typeof NEW_JOB;

/**
 * Where each status may go next. A finished job stays finished: a SUCCEEDED job never runs
 * again. The one way back is a replay: a DEAD_LETTERED work item sent again (fixed, or after its
 * dependency recovered) is PENDING once more.
 *
 * - PENDING: accepted, not started (a message on a queue, a schedule waiting, a start requested).
 * - RUNNING: an attempt is in progress.
 * - RETRYING: an attempt failed transiently; another will follow (RETRYING → RETRYING counts one).
 * - COMPENSATING: a workflow step failed for good; the completed steps are being undone.
 * - SUCCEEDED: done, with its effects.
 * - COMPENSATED: did not complete, and every effect it made was undone (a business outcome).
 * - FAILED: did not complete and needs an operator (a compensation failed, a run timed out).
 * - DEAD_LETTERED: the work item itself is parked in a dead-letter queue with its reason
 *   (PENDING again when it is replayed).
 * - CANCELED: stopped on purpose before it finished.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobSource, readonly JobStatus[]>> = {
  NEW: ["PENDING", "RUNNING", "DEAD_LETTERED"],
  PENDING: ["RUNNING", "RETRYING", "DEAD_LETTERED", "CANCELED"],
  RETRYING: ["RUNNING", "RETRYING", "FAILED", "DEAD_LETTERED", "CANCELED"],
  // DEAD_LETTERED straight from RUNNING: a queue step that failed for good (a PermanentError) is
  // parked without a retry in between.
  RUNNING: ["SUCCEEDED", "RETRYING", "COMPENSATING", "FAILED", "DEAD_LETTERED", "CANCELED"],
  COMPENSATING: ["COMPENSATED", "FAILED"],
  SUCCEEDED: [],
  FAILED: [],
  COMPENSATED: [],
  DEAD_LETTERED: ["PENDING"],
  CANCELED: [],
};

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === "string" && (JOB_STATUSES as readonly string[]).includes(value);
}

/** Statuses that end a job's run: it has no attempt in progress and none scheduled. */
export const FINISHED_STATUSES: readonly JobStatus[] = [
  "SUCCEEDED",
  "FAILED",
  "COMPENSATED",
  "DEAD_LETTERED",
  "CANCELED",
];

/** Whether `status` ends the job's run (only a replay of a DEAD_LETTERED job reopens one). */
export function isTerminal(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

export function canTransition(from: JobSource, to: JobStatus): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

/** The statuses (and NEW) from which `to` may be entered. */
export function sourcesOf(to: JobStatus): JobSource[] {
  return (Object.keys(JOB_TRANSITIONS) as JobSource[]).filter((from) =>
    JOB_TRANSITIONS[from].includes(to),
  );
}

function rulesByTarget(): Record<JobStatus, TransitionRule<JobSource>> {
  const rules: Partial<Record<JobStatus, TransitionRule<JobSource>>> = {};
  for (const to of JOB_STATUSES) rules[to] = { from: sourcesOf(to), to };
  return rules as Record<JobStatus, TransitionRule<JobSource>>;
}

/**
 * The job table as named transitions, one per status it moves to ("to RUNNING" is named
 * RUNNING), each from the statuses JOB_TRANSITIONS lets enter it. NEW is the job's absence.
 * Its placeholders (`:to`, `:from0`…) are fixed: deployed state machines embed them.
 */
export const JOB_TABLE: TransitionTable<JobSource, JobStatus> = transitionTable({
  subject: "job",
  statusAttribute: JOB_STATUS_ATTRIBUTE,
  absent: {
    source: NEW_JOB,
    expression: "attribute_not_exists(#jobId)",
    names: { "#jobId": JOB_KEY_ATTRIBUTE },
  },
  transitions: rulesByTarget(),
  placeholders: { source: (_status, i) => `:from${i}`, target: () => ":to" },
});

/**
 * The DynamoDB condition that makes an update a legal transition to `to`: the job is new (when
 * NEW may enter `to`) or its status is one of the legal sources. A write guarded by it cannot
 * move a SUCCEEDED job back to RUNNING, whoever issues it (a Lambda, a state machine, an operator).
 * A writer may narrow the legal sources (never widen them) to what it has seen happen.
 */
export function transitionCondition(
  to: JobStatus,
  onlyFrom?: readonly JobSource[],
): TransitionCondition {
  return JOB_TABLE.condition(to, onlyFrom ? { onlyFrom } : {});
}

/** A job id for a unit of work of one kind, keyed by its business key: `order-fulfilment:o-42`. */
export function jobIdFor(kind: string, businessKey: string): string {
  return `${kind}:${businessKey}`;
}

/** Attributes a transition may set besides the status, timestamps, history and attempt count. */
export const JOB_FIELDS = [
  "kind",
  "businessKey",
  "correlationId",
  "messageId",
  "executionArn",
  "lastError",
] as const;
export type JobField = (typeof JOB_FIELDS)[number];

export interface JobUpdateShape {
  readonly to: JobStatus;
  /** Fields written on this transition; the caller supplies `:<field>` values. */
  readonly set?: readonly JobField[];
  /** Fields written only when the job has none yet (identity: kind, business key, correlation id). */
  readonly setIfAbsent?: readonly JobField[];
  /** Adds one to `attempts` (a new attempt starts, or one failed). */
  readonly countAttempt?: boolean;
  /** Narrows the statuses this transition may come from (a subset of the legal ones). */
  readonly onlyFrom?: readonly JobSource[];
}

export interface JobUpdate {
  readonly updateExpression: string;
  readonly conditionExpression: string;
  readonly names: Record<string, string>;
  /**
   * The constant values of the expression (`:to` and the legal sources). The caller adds `:at`
   * (ISO time), `:entry` (a one-element list holding the transition record), `:empty` (an empty
   * list), `:one` (the number 1, with countAttempt) and one `:<field>` per field.
   */
  readonly values: Record<string, string>;
}

/**
 * The UpdateItem expression for a transition: status, timestamps, attempt count, the appended
 * transition record and the given fields, guarded by {@link transitionCondition}. Both the
 * runtime (`jobs.ts`) and the workflow construct (a DynamoDB task in the state machine) build
 * their writes from this, so a job looks the same whoever moved it.
 */
export function jobUpdate(shape: JobUpdateShape): JobUpdate {
  const transition = JOB_TABLE.update(shape.to, shape.onlyFrom ? { onlyFrom: shape.onlyFrom } : {});
  const names: Record<string, string> = {
    ...transition.names,
    "#updatedAt": "updatedAt",
    "#createdAt": "createdAt",
    "#transitions": "transitions",
  };
  const sets = [
    transition.setStatus,
    "#updatedAt = :at",
    "#createdAt = if_not_exists(#createdAt, :at)",
    "#transitions = list_append(if_not_exists(#transitions, :empty), :entry)",
  ];
  if (shape.to === "RUNNING") {
    names["#startedAt"] = "startedAt";
    sets.push("#startedAt = if_not_exists(#startedAt, :at)");
  }
  if (isTerminal(shape.to)) {
    names["#finishedAt"] = "finishedAt";
    sets.push("#finishedAt = :at");
  }
  for (const field of shape.set ?? []) {
    names[`#${field}`] = field;
    sets.push(`#${field} = :${field}`);
  }
  for (const field of shape.setIfAbsent ?? []) {
    names[`#${field}`] = field;
    sets.push(`#${field} = if_not_exists(#${field}, :${field})`);
  }
  let updateExpression = `SET ${sets.join(", ")}`;
  if (shape.countAttempt) {
    names["#attempts"] = "attempts";
    updateExpression += " ADD #attempts :one";
  }
  return {
    updateExpression,
    conditionExpression: transition.conditionExpression,
    names,
    values: transition.values,
  };
}
