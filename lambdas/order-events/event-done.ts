import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { getTask } from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import { orderProjectionKey } from "./apply-order-event.js";
import { type CartReminderDeps, cartReminderKey } from "./cart-reminder.js";
import type { OrderEvent } from "./schema.js";

/**
 * Whether an order event's whole work is done, read only for an event out of attempts
 * (`isDone`): it is in the order projection's history (the exactly-once boundary) and, where the
 * stack has cart reminders, the reminder follows it (scheduled after OrderPlaced, no longer
 * scheduled after any later event). An event applied whose reminder step failed is not done:
 * dead-lettering it lets an operator replay the step.
 */
export async function orderEventDone(
  event: Pick<OrderEvent, "orderId" | "seq" | "type">,
  deps: {
    readonly db: DynamoDBDocumentClient;
    readonly table: string;
    readonly reminders: CartReminderDeps | undefined;
  },
): Promise<boolean> {
  const { Item } = await deps.db.send(
    new GetCommand({
      TableName: deps.table,
      Key: orderProjectionKey(event.orderId),
      ConsistentRead: true,
    }),
  );
  const history = (Item?.history ?? []) as { seq: number }[];
  if (!history.some((entry) => entry.seq === event.seq)) return false;
  if (!deps.reminders) return true;
  const reminder = await getTask(cartReminderKey(event.orderId), deps.reminders.tasks);
  return event.type === "OrderPlaced" ? reminder !== undefined : reminder?.status !== "SCHEDULED";
}
