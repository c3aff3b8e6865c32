/**
 * Whether a message's work is already done, asked for a record out of attempts before it is
 * dead-lettered. Apart from sqs-consumer.ts because it is one question with two sources.
 */
import type { JSONValue } from "@aws-lambda-powertools/commons/types";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { ConsumerDefinition } from "./consumer-types.js";

/** What the consumer's idempotent step is called with: the key, what is hashed, the message. */
export interface IdempotentInput<M> {
  readonly key: string;
  readonly payload: unknown;
  readonly message: M;
}

/**
 * The message's idempotency record says COMPLETED (the stored result), or else the effect
 * boundary says so (`isDone`). A record whose deliveries keep failing before they reach the
 * idempotency check (a sibling's timeout, a flaky dependency) would otherwise be dead-lettered
 * although its effect happened.
 */
export async function workAlreadyDone<M, R>(
  body: unknown,
  definition: Pick<ConsumerDefinition<M, R>, "schema" | "idempotencyKey" | "isDone">,
  persistenceStore: BasePersistenceLayer | undefined,
  idempotentInput: (message: M, key: string) => IdempotentInput<M>,
): Promise<{ readonly stored: { value: R } } | { readonly byEffect: true } | undefined> {
  const parsed = definition.schema.safeParse(body);
  if (!parsed.success) return undefined;
  const key = definition.idempotencyKey(parsed.data);
  if (!key) return undefined;
  try {
    if (persistenceStore) {
      const input = idempotentInput(parsed.data, key) as unknown as JSONValue;
      const record = await persistenceStore.getRecord(input);
      if (record.getStatus() === "COMPLETED") {
        return { stored: record.getResponse() as { value: R } };
      }
    }
  } catch {
    // No record (or none readable): the effect boundary may still know.
  }
  try {
    if (definition.isDone && (await definition.isDone(parsed.data))) return { byEffect: true };
  } catch {
    return undefined;
  }
  return undefined;
}
