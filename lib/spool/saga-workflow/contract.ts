/**
 * What a SagaWorkflow and the code that completes its callback steps agree on. SDK-free: the
 * construct uses it at synth time (its retriers), the runtime and the operator CLI at run time.
 */

/**
 * The error a `SendTaskFailure` names to reject a waiting callback step: never retried (a retry
 * would ask again), compensated at once. `PermanentError` is honoured the same way.
 */
export const CALLBACK_REJECTED = "Spool.Rejected";
