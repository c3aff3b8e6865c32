import { documentClient } from "../../lib/spool/runtime/clients.js";
import { eventConsumerHandler } from "../../lib/spool/runtime/event-consumer.js";
import { effectsTable } from "../env.js";
import { AnalyticsOrderPlaced, recordOrder } from "./record-order.js";

export const handler = eventConsumerHandler(AnalyticsOrderPlaced, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const table = effectsTable();
  return { process: (event, ctx) => recordOrder(event, ctx, { db, table, now: () => new Date() }) };
});
