/**
 * What the JobTable construct and the code that reads and writes jobs agree on. SDK-free: the
 * construct (and a SagaWorkflow's own DynamoDB tasks) use it at synth time.
 */

/** The job table's key attribute and the attribute holding the status. */
export const JOB_KEY_ATTRIBUTE = "jobId";
export const JOB_STATUS_ATTRIBUTE = "status";

/** The environment variable naming the job table, for functions that read or move jobs. */
export const JOBS_TABLE_ENV = "JOBS_TABLE";

/**
 * The attribute holding a job's waiting callback step (a workflow step waiting for an answer):
 * its step, execution and task token. The token completes the step, so readers hide it.
 */
export const JOB_WAITING_ATTRIBUTE = "waiting";
