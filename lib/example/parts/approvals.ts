import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { JOBS_TABLE_ENV } from "../../spool/job-table/contract.js";
import type { JobTable } from "../../spool/job-table/index.js";
import { type SagaRetry, SagaWorkflow } from "../../spool/saga-workflow/index.js";
import {
  acknowledgeSynchronousInvocation,
  SpoolFunction,
} from "../../spool/spool-function/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface ApprovalsProps {
  readonly jobs: JobTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
}

/** How long the approval step waits: short, so the suite can watch one time out. */
export const APPROVAL_WAIT = Duration.seconds(20);

const TEST_RETRY: SagaRetry = {
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxAttempts: 2,
  maxDelay: Duration.seconds(4),
};

/**
 * Test hooks only: a saga with a step that waits for a person. `reserveSlot` (compensated by
 * releasing it) → `approval`, a callback step that parks its task token on the job
 * (`approval:<requestId>` in the stack's job table) and waits for `spool jobs approve|reject`
 * or {@link APPROVAL_WAIT} → `finish`. Rejected or unanswered, the slot is released.
 */
export class Approvals extends Construct {
  readonly steps: SpoolFunction;
  readonly saga: SagaWorkflow;

  constructor(scope: Construct, id: string, props: ApprovalsProps) {
    super(scope, id);
    this.steps = new SpoolFunction(this, "ApprovalSteps", {
      entry: lambdaEntry("approval-steps/handler.ts"),
      timeout: Duration.seconds(10),
      description: "Approval saga (test hooks): every step and compensation",
      environment: {
        ...props.handlerEnvironment,
        EFFECTS_TABLE: props.effectsTable.tableName,
        [JOBS_TABLE_ENV]: props.jobs.tableName,
        POWERTOOLS_SERVICE_NAME: "approval-steps",
      },
    });
    // The steps count their calls; the callback step writes only the job's `waiting` entry.
    props.effectsTable.grant(this.steps, "dynamodb:UpdateItem");
    props.jobs.table.grant(this.steps, "dynamodb:UpdateItem");
    acknowledgeSynchronousInvocation(this.steps, "the approval saga's state machine");

    this.saga = new SagaWorkflow(this, "Approval", {
      steps: [
        { name: "reserveSlot", function: this.steps, compensation: this.steps },
        { name: "approval", function: this.steps, callback: true, taskTimeout: APPROVAL_WAIT },
        { name: "finish", function: this.steps },
      ],
      jobTable: props.jobs.table,
      faultInjection: true,
      stepRetry: TEST_RETRY,
      compensationRetry: TEST_RETRY,
      timeout: Duration.minutes(2),
    });

    new CfnOutput(scope, "ApprovalStateMachineArn", {
      value: this.saga.stateMachine.stateMachineArn,
    });
    new CfnOutput(scope, "ApprovalStepsFunctionName", { value: this.steps.functionName });
  }
}
