/**
 * Whether a message's work is already done, asked for a record out of attempts before it is
 * dead-lettered. Apart from sqs-consumer.ts because it is one question with two sources.
 */
import type { JSONValue } from "@aws-lambda-powertools/commons/types";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { ConsumerDefinition } from "./consumer-types.js";
import { classify } from "./errors.js";

/**
 * Tries of each lookup below. It is asked once per record, on its last delivery, just before a
 * dead letter: a throttled read then would dead-let work that is done (the large chaos run found
 * two such messages, each with an injected throttle on this read), so a transient failure is
 * tried again at once, a few times; a permanent one (no table) is not.
 */
const LOOKUP_TRIES = 3;

async function looked<T>(lookup: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await lookup();
    } catch (error) {
      if (attempt >= LOOKUP_TRIES || classify(error).kind !== "transient") throw error;
    }
  }
}

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
      const record = await looked(() => persistenceStore.getRecord(input));
      if (record.getStatus() === "COMPLETED") {
        return { stored: record.getResponse() as { value: R } };
      }
    }
  } catch {
    // No record (or none readable): the effect boundary may still know.
  }
  try {
    const isDone = definition.isDone;
    if (isDone && (await looked(() => isDone(parsed.data)))) return { byEffect: true };
  } catch {
    return undefined;
  }
  return undefined;
}
