import { documentClient } from "../../lib/spool/runtime/clients.js";
import { eventConsumerHandler } from "../../lib/spool/runtime/event-consumer.js";
import { effectsTable } from "../env.js";
import { authorizePayment, PaymentsOrderPlaced } from "./authorize-payment.js";

export const handler = eventConsumerHandler(PaymentsOrderPlaced, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const table = effectsTable();
  return {
    process: (event, ctx) => authorizePayment(event, ctx, { db, table, now: () => new Date() }),
  };
});
