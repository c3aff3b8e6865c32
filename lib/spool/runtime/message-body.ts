import { PermanentError } from "./errors.js";

/** Reading an SQS message body: JSON, or a permanent failure that says why. */

/** The message without its correlation id, which differs between re-sends of the same work. */
export function withoutCorrelationId(message: unknown): unknown {
  if (message === null || typeof message !== "object" || Array.isArray(message)) return message;
  const { correlationId: _ignored, ...rest } = message as Record<string, unknown>;
  return rest;
}

/** The body as JSON, or undefined when it is not JSON (for dead-letter bookkeeping). */
export function parseBodyOrUndefined(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The body as JSON; a body that is not JSON is a permanent failure (MALFORMED_JSON). */
export function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new PermanentError("the message body is not valid JSON", {
      code: "MALFORMED_JSON",
      details: { parseError: (error as Error).message, bodyPreview: body.slice(0, 200) },
    });
  }
}
