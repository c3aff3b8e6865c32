import { documentClient } from "../../lib/spool/runtime/clients.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { notificationDone } from "./notification-done.js";
import { NotificationRequest } from "./schema.js";
import { sendNotification } from "./send-notification.js";

export const handler = sqsConsumerHandler(NotificationRequest, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const table = effectsTable();
  return {
    idempotencyKey: (request) => request.notificationId,
    isDone: (request) => notificationDone(request, { db, table }),
    process: (request, ctx) => sendNotification(request, ctx, { db, table, now: () => new Date() }),
  };
});
