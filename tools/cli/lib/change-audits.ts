import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Operator } from "./audit.js";
import { PartitionAudit } from "./audit-items.js";

// The operator changes other than dead-letter operations (audit.ts), each under its own partition
// of the OperatorAudit table: consumer pauses and resumes, job cancels, answers to waiting steps.

/** A pause or resume of a consumer (its event source mapping), as the audit records it. */
export interface ConsumerChangeStarted {
  readonly changeId: string;
  readonly stack: string;
  readonly action: "pause" | "resume";
  readonly consumer: string;
  readonly queueArn: string;
  readonly functionName: string;
  readonly mappingUuid: string;
  /** The mapping's state when the operator asked (Enabled, Disabled, …). */
  readonly before: string;
  /** The state asked for: Disabled to pause, Enabled to resume. */
  readonly requested: "Enabled" | "Disabled";
  readonly operator: Operator;
  readonly startedAt: string;
}

export interface ConsumerChangeFinished {
  /** `timed-out`: asked, but the mapping had not reported the state by the deadline. */
  readonly status: "completed" | "timed-out" | "interrupted" | "failed";
  /** The mapping's state when the CLI stopped watching it (unknown when the update failed). */
  readonly after: string | undefined;
  readonly finishedAt: string;
  readonly error?: string;
}

/** Where a pause or resume records itself. */
export interface ConsumerAudit {
  started(record: ConsumerChangeStarted): Promise<void>;
  finished(changeId: string, record: ConsumerChangeFinished): Promise<void>;
}

export interface ConsumerChangeEntry
  extends ConsumerChangeStarted,
    Partial<ConsumerChangeFinished> {}

const CONSUMER_PARTITION = "consumer-changes";

/**
 * Pauses and resumes in the same OperatorAudit table as replays, under their own partition
 * sorted by start time: recorded as `running` before the mapping is touched, so a change whose
 * CLI died midway still names who asked for it and what the state was before.
 */
export class DynamoConsumerAudit
  extends PartitionAudit<ConsumerChangeStarted, ConsumerChangeFinished, ConsumerChangeEntry>
  implements ConsumerAudit
{
  constructor(db: DynamoDBDocumentClient, table: string) {
    super(db, table, CONSUMER_PARTITION, (r) => r.changeId, "consumer change");
  }
}

/** A `spool jobs cancel`, as the audit records it. */
export interface JobCancelStarted {
  readonly cancelId: string;
  readonly stack: string;
  readonly table: string;
  readonly jobId: string;
  /** The job's status when the operator asked. */
  readonly before: string;
  readonly reason: string;
  /** The workflow execution the job names, which the cancel also stops. */
  readonly executionArn?: string;
  readonly operator: Operator;
  readonly startedAt: string;
}

export interface JobCancelFinished {
  /** `refused`: the job moved to a finished status between the read and the cancel. */
  readonly status: "completed" | "refused" | "failed";
  readonly after: string | undefined;
  /** Whether StopExecution was sent and accepted (absent: no execution to stop). */
  readonly executionStopped?: boolean;
  readonly finishedAt: string;
  readonly error?: string;
}

export interface JobCancelAudit {
  started(record: JobCancelStarted): Promise<void>;
  finished(cancelId: string, record: JobCancelFinished): Promise<void>;
}

export interface JobCancelEntry extends JobCancelStarted, Partial<JobCancelFinished> {}

const JOB_CANCEL_PARTITION = "job-cancels";

/**
 * Cancels in the same OperatorAudit table, under their own partition sorted by start time:
 * recorded as `running` before the job is touched, so a cancel whose CLI died midway still names
 * who asked and what the job's status was.
 */
export class DynamoJobCancelAudit
  extends PartitionAudit<JobCancelStarted, JobCancelFinished, JobCancelEntry>
  implements JobCancelAudit
{
  constructor(db: DynamoDBDocumentClient, table: string) {
    super(db, table, JOB_CANCEL_PARTITION, (r) => r.cancelId, "job cancel");
  }
}

/** A `spool jobs approve|reject`, as the audit records it (never with the task token). */
export interface JobAnswerStarted {
  readonly answerId: string;
  readonly stack: string;
  readonly table: string;
  readonly jobId: string;
  readonly answer: "approve" | "reject";
  /** The waiting step answered, and the execution it waits in. */
  readonly step: string;
  readonly executionArn: string;
  readonly reason?: string;
  readonly operator: Operator;
  readonly startedAt: string;
}

export interface JobAnswerFinished {
  /** `not-waiting`: Step Functions no longer knew the task (answered already, or timed out). */
  readonly status: "completed" | "not-waiting" | "failed";
  readonly finishedAt: string;
  readonly error?: string;
}

export interface JobAnswerAudit {
  started(record: JobAnswerStarted): Promise<void>;
  finished(answerId: string, record: JobAnswerFinished): Promise<void>;
}

/** Approvals and rejections in the OperatorAudit table, under `job-answers`, newest first. */
export class DynamoJobAnswerAudit
  extends PartitionAudit<JobAnswerStarted, JobAnswerFinished, JobAnswerStarted>
  implements JobAnswerAudit
{
  constructor(db: DynamoDBDocumentClient, table: string) {
    super(db, table, "job-answers", (r) => r.answerId, "job answer");
  }
}

/** A `spool events replay`, as the audit records it. */
export interface EventReplayStarted {
  readonly replayId: string;
  readonly stack: string;
  /** `archive`: EventBridge StartReplay; `outbox`: re-published from the outbox table. */
  readonly source: "archive" | "outbox";
  /** The window of event times replayed: from inclusive, to exclusive. */
  readonly from: string;
  readonly to: string;
  /** The one subscription replayed to; absent: every rule of the bus. */
  readonly subscription?: string;
  /** The bus, or the subscription's queue (outbox source) or rule (archive source). */
  readonly destination: string;
  readonly operator: Operator;
  readonly startedAt: string;
}

export interface EventReplayFinished {
  /** `started`: an archive replay left running (EventBridge goes on without the CLI). */
  readonly status: "completed" | "started" | "failed" | "interrupted";
  /** Outbox source: published rows in the window, and how many of them were sent. */
  readonly matched?: number;
  readonly sent?: number;
  readonly failed?: number;
  /** Outbox source: the ids sent (the first 500). */
  readonly eventIds?: readonly string[];
  /** Archive source: the replay and its last state seen. */
  readonly replayArn?: string;
  readonly state?: string;
  readonly finishedAt: string;
  readonly error?: string;
}

export interface EventReplayAudit {
  started(record: EventReplayStarted): Promise<void>;
  finished(replayId: string, record: EventReplayFinished): Promise<void>;
}

/** Event replays in the OperatorAudit table, under `event-replays`, newest first. */
export class DynamoEventReplayAudit
  extends PartitionAudit<EventReplayStarted, EventReplayFinished, EventReplayStarted>
  implements EventReplayAudit
{
  constructor(db: DynamoDBDocumentClient, table: string) {
    super(db, table, "event-replays", (r) => r.replayId, "event replay");
  }
}
