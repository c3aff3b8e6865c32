import { documentClient } from "../../lib/spool/runtime/clients.js";
import { eventConsumerHandler } from "../../lib/spool/runtime/event-consumer.js";
import { AnalyticsOrderPlaced, recordOrder } from "./record-order.js";

export const handler = eventConsumerHandler(AnalyticsOrderPlaced, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const table = process.env.EFFECTS_TABLE ?? "";
  return { process: (event, ctx) => recordOrder(event, ctx, { db, table, now: () => new Date() }) };
});
