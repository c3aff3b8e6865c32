import { documentClient } from "../../lib/spool/runtime/clients.js";
import { eventConsumerHandler } from "../../lib/spool/runtime/event-consumer.js";
import { effectsTable } from "../env.js";
import { ConfirmationOrderPlaced, confirmOrder } from "./confirm-order.js";

export const handler = eventConsumerHandler(ConfirmationOrderPlaced, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const table = effectsTable();
  return {
    process: (event, ctx) => confirmOrder(event, ctx, { db, table, now: () => new Date() }),
  };
});
