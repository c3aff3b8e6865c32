import {
  canTransition,
  isTerminal,
  type JobSource,
  type JobStatus,
  NEW_JOB,
} from "../../lib/spool/job-table/job-states.js";
import type {
  JobDelivery,
  JobProgressReport,
  QueueJobs,
} from "../../lib/spool/runtime/consumer-types.js";

/**
 * An in-memory job table behind the consumer's QueueJobs port, holding each job to the real
 * transition table (job-states.ts), so a consumer test sees the moves a deployed one makes:
 * refused moves stay refused, a finished job stays finished.
 */
export class FakeQueueJobs implements QueueJobs {
  readonly statuses = new Map<string, JobStatus>();
  readonly history = new Map<string, JobStatus[]>();
  readonly progress = new Map<string, JobProgressReport>();
  readonly errors = new Map<string, string>();
  /** Called on each cancel check, before it answers (a test cancels from here). */
  onCheck: (jobId: string) => void = () => undefined;

  constructor(readonly kind = "test-kind") {}

  jobId(businessKey: string): string {
    return `${this.kind}:${businessKey}`;
  }

  status(jobId: string): JobSource {
    return this.statuses.get(jobId) ?? NEW_JOB;
  }

  /** Moves the job when the table allows it; returns the status found when it does not. */
  move(jobId: string, to: JobStatus): JobSource | undefined {
    const from = this.status(jobId);
    if (!canTransition(from, to)) return from;
    this.statuses.set(jobId, to);
    this.history.set(jobId, [...(this.history.get(jobId) ?? []), to]);
    return undefined;
  }

  async start(jobId: string, _key: string, _delivery: JobDelivery) {
    const refused = this.move(jobId, "RUNNING");
    if (refused === undefined || refused === "RUNNING") return { outcome: "run" as const };
    if (refused === "CANCELED") return { outcome: "canceled" as const };
    if (refused === "DEAD_LETTERED") {
      this.move(jobId, "PENDING");
      this.move(jobId, "RUNNING");
      return { outcome: "run" as const };
    }
    if (refused !== NEW_JOB && isTerminal(refused)) {
      return { outcome: "finished" as const, status: refused };
    }
    throw new Error(`job ${jobId} cannot move from ${refused} to RUNNING`);
  }

  async succeed(jobId: string) {
    if (this.status(jobId) !== "RUNNING") return { ok: false as const, status: this.status(jobId) };
    this.move(jobId, "SUCCEEDED");
    return { ok: true as const };
  }

  async failed(
    jobId: string,
    to: "RETRYING" | "DEAD_LETTERED",
    _delivery: JobDelivery,
    failure: { code: string },
  ) {
    if (this.move(jobId, to) === undefined) this.errors.set(jobId, failure.code);
  }

  async reportProgress(jobId: string, progress: JobProgressReport) {
    if (this.status(jobId) !== "RUNNING") return false;
    this.progress.set(jobId, progress);
    return true;
  }

  async isCanceled(jobId: string) {
    this.onCheck(jobId);
    return this.status(jobId) === "CANCELED";
  }
}
