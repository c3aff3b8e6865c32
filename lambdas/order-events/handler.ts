import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { applyOrderEvent } from "./apply-order-event.js";
import { cartRemindersFromEnv, syncCartReminder } from "./cart-reminder.js";
import { orderEventDone } from "./event-done.js";
import { OrderEvent, orderEventKey } from "./schema.js";

export const handler = sqsConsumerHandler(OrderEvent, ({ dynamo, sqs }) => {
  const db = documentClient(dynamo);
  const table = effectsTable();
  const reminders = cartRemindersFromEnv({ db, sqs });
  return {
    idempotencyKey: orderEventKey,
    isDone: (event) => orderEventDone(event, { db, table, reminders }),
    process: async (event, ctx) => {
      const result = await applyOrderEvent(event, ctx, { db, table, now: () => new Date() });
      // Also after "already-applied": a retry must finish a reminder step that failed last time.
      if (reminders) await syncCartReminder(event, ctx.correlationId, reminders);
      return result;
    },
  };
});
