import { documentClient } from "../../lib/spool/runtime/clients.js";
import { eventConsumerHandler } from "../../lib/spool/runtime/event-consumer.js";
import { authorizePayment, PaymentsOrderPlaced } from "./authorize-payment.js";

export const handler = eventConsumerHandler(PaymentsOrderPlaced, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const table = process.env.EFFECTS_TABLE ?? "";
  return {
    process: (event, ctx) => authorizePayment(event, ctx, { db, table, now: () => new Date() }),
  };
});
