import { SFNClient } from "@aws-sdk/client-sfn";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { FulfilmentRequest } from "../fulfilment-steps/schema.js";
import { recordDeadLetter, type StarterDeps, startFulfilment } from "./start-fulfilment.js";

export const handler = sqsConsumerHandler(FulfilmentRequest, ({ dynamo, faults }) => {
  const deps: StarterDeps = {
    sfn: new SFNClient({}),
    jobs: { db: documentClient(dynamo), table: process.env.JOBS_TABLE ?? "" },
    stateMachineArn: process.env.STATE_MACHINE_ARN ?? "",
    faults,
  };
  return {
    // The execution name, not an idempotency record, is this consumer's exactly-once boundary.
    idempotencyKey: (request) => request.orderId,
    process: (request, ctx) => startFulfilment(request, ctx, deps),
    onDeadLettered: (body, metadata) => recordDeadLetter(body, metadata, deps.jobs),
  };
});
