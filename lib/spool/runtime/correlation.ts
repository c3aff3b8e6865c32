import { randomUUID } from "node:crypto";
import type { SQSRecord } from "aws-lambda";

/** The SQS message attribute that carries the correlation id from hop to hop. */
export const CORRELATION_ID_ATTRIBUTE = "correlation-id";

const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** A new correlation id, for a producer whose caller gave none. */
export function newCorrelationId(): string {
  return randomUUID();
}

function usable(value: unknown): value is string {
  return typeof value === "string" && CORRELATION_ID_PATTERN.test(value);
}

/**
 * The correlation id of an incoming record: the message attribute first (set by Spool producers),
 * then a `correlationId` field of the body (or of its EventBridge `detail`), and a new id when
 * neither is present or usable, so a message from a foreign producer is still traceable from
 * here on.
 */
export function correlationIdOf(
  record: Pick<SQSRecord, "messageAttributes">,
  body?: unknown,
): string {
  const fromAttribute = record.messageAttributes?.[CORRELATION_ID_ATTRIBUTE]?.stringValue;
  if (usable(fromAttribute)) return fromAttribute;
  if (body !== null && typeof body === "object") {
    const fromBody = (body as Record<string, unknown>).correlationId;
    if (usable(fromBody)) return fromBody;
    // A whole EventBridge event carries the Spool envelope (and its correlation id) in `detail`.
    const detail = (body as Record<string, unknown>).detail;
    if (detail !== null && typeof detail === "object") {
      const fromDetail = (detail as Record<string, unknown>).correlationId;
      if (usable(fromDetail)) return fromDetail;
    }
  }
  return newCorrelationId();
}
