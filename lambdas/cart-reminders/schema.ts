import * as z from "zod";
import { taskMessageOf } from "../../lib/spool/delayed-tasks/runtime/tasks.js";

/** What an abandoned-cart reminder task carries. */
export const CartReminderPayload = z.object({
  orderId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "orderId: 1–64 letters, digits, - or _"),
  customerId: z.string().min(1).max(64),
});
export type CartReminderPayload = z.infer<typeof CartReminderPayload>;

/** Version 1 of a cart-reminder task on the cart-reminders queue. */
export const CartReminderTask = taskMessageOf(CartReminderPayload);
export type CartReminderTask = z.infer<typeof CartReminderTask>;
