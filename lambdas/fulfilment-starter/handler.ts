import { SFNClient } from "@aws-sdk/client-sfn";
import { JOBS_TABLE_ENV } from "../../lib/spool/job-table/contract.js";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { requireEnv } from "../../lib/spool/runtime/env.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { SET_BY_STACK } from "../env.js";
import { FulfilmentRequest } from "../fulfilment-steps/schema.js";
import { recordDeadLetter, type StarterDeps, startFulfilment } from "./start-fulfilment.js";

export const handler = sqsConsumerHandler(FulfilmentRequest, ({ dynamo, faults }) => {
  const deps: StarterDeps = {
    sfn: new SFNClient({}),
    jobs: { db: documentClient(dynamo), table: requireEnv(JOBS_TABLE_ENV, SET_BY_STACK) },
    stateMachineArn: requireEnv("STATE_MACHINE_ARN", SET_BY_STACK),
    faults,
  };
  return {
    // The execution name, not an idempotency record, is this consumer's exactly-once boundary.
    idempotencyKey: (request) => request.orderId,
    process: (request, ctx) => startFulfilment(request, ctx, deps),
    onDeadLettered: (body, metadata) => recordDeadLetter(body, metadata, deps.jobs),
  };
});
