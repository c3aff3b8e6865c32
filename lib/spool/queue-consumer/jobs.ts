import { Token } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";
import { CONSUMER_ENV, JOB_KIND_PATTERN } from "../runtime/consumer-config.js";
import { invalid } from "../runtime/validation.js";

/**
 * A consumer that tracks each message as a job: the job table (a JobTable's `table`, or any
 * table keyed by the string `jobId`) and the kind its job ids start with. The handler hands
 * `queueJobs(documentClient(dynamo))` (job-table/runtime/queue-jobs.ts) to its definition as `jobs`.
 */
export interface QueueConsumerJobs {
  readonly table: ITable;
  /**
   * The `<kind>` of the job ids `<kind>:<idempotency key>`: letters, digits, `.`, `_`, `-`
   * (no colon), at most 64 characters.
   * @default - the consumer name
   */
  readonly kind?: string;
}

/** The kind the consumer's jobs get; throws naming the prop and value when it cannot be one. */
export function validateJobs(
  scope: IConstruct,
  jobs: QueueConsumerJobs | undefined,
  consumerName: string,
): string | undefined {
  if (!jobs) return undefined;
  const kind = jobs.kind ?? consumerName;
  if (!Token.isUnresolved(kind) && !JOB_KIND_PATTERN.test(kind)) {
    invalid(
      scope,
      `${jobs.kind === undefined ? "jobs.kind (defaulting to consumerName)" : "jobs.kind"} must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit (job ids are <kind>:<key>), got "${kind}"`,
    );
  }
  return kind;
}

export function jobsEnvironment(
  jobs: QueueConsumerJobs | undefined,
  kind: string | undefined,
): Record<string, string> {
  if (!jobs || kind === undefined) return {};
  return { [CONSUMER_ENV.jobsTable]: jobs.table.tableName, [CONSUMER_ENV.jobKind]: kind };
}

/**
 * GetItem (the cancel check, a refused move's status) and UpdateItem (every move and progress
 * report), on this consumer's own jobs only: their ids start with its kind, and the table may
 * hold a saga's or another consumer's jobs.
 */
export function grantJobs(
  grantee: IGrantable,
  jobs: QueueConsumerJobs | undefined,
  kind: string | undefined,
): void {
  if (!jobs || kind === undefined) return;
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
      resources: [jobs.table.tableArn],
      conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${kind}:*`] } },
    }),
  );
}
