import { documentClient } from "../runtime/clients.js";
import { sqsConsumerHandler } from "../runtime/sqs-consumer.js";
import { applyOrderEvent } from "./apply-order-event.js";
import { OrderEvent, orderEventKey } from "./schema.js";

export const handler = sqsConsumerHandler(OrderEvent, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const table = process.env.EFFECTS_TABLE ?? "";
  return {
    idempotencyKey: orderEventKey,
    process: (event, ctx) => applyOrderEvent(event, ctx, { db, table, now: () => new Date() }),
  };
});
