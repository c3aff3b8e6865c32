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
