import { Logger } from "@aws-lambda-powertools/logger";
import { documentClient, dynamoClient, sqsClient } from "../../lib/spool/runtime/clients.js";
import { intEnv, requireEnv } from "../../lib/spool/runtime/env.js";
import { faultInjectorFromEnv } from "../../lib/spool/runtime/faults.js";
import { createSagaStepHandler } from "../../lib/spool/saga-workflow/runtime/saga-step.js";
import { effectsTable, SET_BY_STACK } from "../env.js";
import { OrderToFulfil } from "./schema.js";
import {
  cancelOrder,
  chargePayment,
  confirmOrder,
  type FulfilmentDeps,
  notifyCustomer,
  refundPayment,
  releaseInventory,
  reserveInventory,
} from "./steps.js";

const faults = faultInjectorFromEnv();
const deps: FulfilmentDeps = {
  db: documentClient(dynamoClient(faults)),
  table: effectsTable(),
  sqs: sqsClient(),
  notificationsQueueUrl: requireEnv("NOTIFICATIONS_QUEUE_URL", SET_BY_STACK),
  paymentLimitCents: intEnv("PAYMENT_LIMIT_CENTS", { min: 0, fallback: 100_000 }),
  now: () => new Date(),
};

/** Every step and compensation of the order fulfilment saga, chosen by the payload's step and phase. */
export const handler = createSagaStepHandler(
  {
    schema: OrderToFulfil,
    actions: {
      reserveInventory: (order, ctx) => reserveInventory(order, ctx, deps),
      chargePayment: (order, ctx) => chargePayment(order, ctx, deps),
      confirmOrder: (order, ctx) => confirmOrder(order, ctx, deps),
      notifyCustomer: (order, ctx) => notifyCustomer(order, ctx, deps),
    },
    compensations: {
      reserveInventory: (order, ctx) => releaseInventory(order, ctx, deps),
      chargePayment: (order, ctx) => refundPayment(order, ctx, deps),
      confirmOrder: (order, ctx) => cancelOrder(order, ctx, deps),
    },
  },
  { faults, logger: new Logger() },
);
