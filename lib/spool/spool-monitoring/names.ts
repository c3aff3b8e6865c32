/**
 * Friendly names for monitored resources. The monitoring construct names alarms and dashboard
 * sections with them, and the `spool` CLI resolves the same names from a deployed stack's
 * construct paths, so `spool status` and the alarm `Spool-queue-orders-depth` speak of one
 * "orders".
 */

/** A construct id in kebab case: "OrderEvents" → "order-events", "OpsLabFIFO" → "ops-lab-fifo". */
export function kebab(id: string): string {
  return id
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .toLowerCase();
}

/**
 * For construct paths relative to their stack ("Messaging/Orders"), the shortest trailing part
 * of each path that no other path ends with, kebab-cased: ["Messaging/Orders", "Lab/Orders",
 * "Messaging/Notifications"] → ["messaging/orders", "lab/orders", "notifications"].
 */
export function uniqueNames(paths: readonly string[]): string[] {
  const segments = paths.map((p) => p.split("/").filter(Boolean).map(kebab));
  return segments.map((mine, index) => {
    for (let take = 1; take <= mine.length; take++) {
      const suffix = mine.slice(-take).join("/");
      const clash = segments.some(
        (other, j) => j !== index && other.slice(-take).join("/") === suffix,
      );
      if (!clash) return suffix;
    }
    return mine.join("/");
  });
}
