/**
 * A message's tenant: the customer (account, workspace) whose work it is. SDK-free, so producers,
 * the event envelope, the consumer and the QueueConsumer construct share one name and one rule.
 *
 * A producer sets it with `spoolMessage({ tenantId })` (or `createEvent({ tenantId })` for an
 * event); it travels as the `tenant-id` message attribute and, on a standard queue, as the
 * message's `MessageGroupId`, which is what SQS fair queues use to keep one tenant's backlog from
 * delaying the others' messages (on a FIFO queue the group id is the ordering key, so it is left
 * to the producer's `groupId`). The consumer reads it back with `tenantOf` for its per-tenant
 * in-flight quota (tenant-quota.ts) and its per-tenant metrics.
 */

/** The SQS message attribute that carries the tenant id. */
export const TENANT_ID_ATTRIBUTE = "tenant-id";

/**
 * A tenant id is also a `MessageGroupId` (at most 128 characters, alphanumerics and punctuation),
 * part of a DynamoDB key and a CloudWatch dimension value; held to the narrowest of the three.
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Throws a RangeError naming the rule and the value when `tenantId` is not a usable tenant id. */
export function assertTenantId(tenantId: unknown, what = "tenantId"): string {
  if (typeof tenantId === "string" && TENANT_ID_PATTERN.test(tenantId)) return tenantId;
  throw new RangeError(
    `${what} must be 1-128 letters, digits or . _ : - (it is sent as the MessageGroupId), got ${JSON.stringify(tenantId)}`,
  );
}

/**
 * The tenant of an incoming record: the `tenant-id` attribute (Spool producers), else a `tenantId`
 * field of the body (a Spool event envelope, bare or as an EventBridge event's `detail`).
 * Undefined when neither holds a well-formed id: such a record belongs to no tenant and is not
 * held to any tenant's quota.
 */
export function tenantOf(
  record: {
    readonly messageAttributes?:
      | Readonly<Record<string, { readonly stringValue?: string | undefined }>>
      | undefined;
  },
  body?: unknown,
): string | undefined {
  const fromAttribute = record.messageAttributes?.[TENANT_ID_ATTRIBUTE]?.stringValue;
  if (usable(fromAttribute)) return fromAttribute;
  if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  if (usable(fields.tenantId)) return fields.tenantId;
  const detail = fields.detail;
  if (detail !== null && typeof detail === "object" && !Array.isArray(detail)) {
    const fromDetail = (detail as Record<string, unknown>).tenantId;
    if (usable(fromDetail)) return fromDetail;
  }
  return undefined;
}

function usable(value: unknown): value is string {
  return typeof value === "string" && TENANT_ID_PATTERN.test(value);
}
