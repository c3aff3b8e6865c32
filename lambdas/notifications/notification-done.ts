import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { NotificationRequest } from "./schema.js";
import { deliveryKey } from "./send-notification.js";

/**
 * Whether the notification was delivered: its delivery record, the exactly-once boundary
 * `sendNotification` writes, exists. Read only for a request out of attempts (`isDone`).
 */
export async function notificationDone(
  request: Pick<NotificationRequest, "notificationId">,
  deps: { readonly db: DynamoDBDocumentClient; readonly table: string },
): Promise<boolean> {
  const { Item } = await deps.db.send(
    new GetCommand({
      TableName: deps.table,
      Key: deliveryKey(request.notificationId),
      ConsistentRead: true,
      ProjectionExpression: "pk",
    }),
  );
  return Item !== undefined;
}
