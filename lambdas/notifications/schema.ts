import * as z from "zod";

/** Version 1 of a notification request on the notifications queue. */
export const NotificationRequest = z.object({
  schemaVersion: z.literal(1),
  /** The business key: one notification id is delivered at most once. */
  notificationId: z
    .string()
    .regex(/^[A-Za-z0-9_:#-]{1,128}$/, "notificationId: 1–128 safe characters"),
  channel: z.enum(["email", "sms"]),
  recipient: z.string().min(3).max(254),
  template: z.string().min(1).max(64),
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  correlationId: z.string().max(128).optional(),
});
export type NotificationRequest = z.infer<typeof NotificationRequest>;
