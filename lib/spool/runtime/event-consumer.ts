import type { ZodType } from "zod";
import type { SpoolEvent } from "./envelope.js";
import {
  type ConsumerDependencies,
  type RecordContext,
  sqsConsumerHandler,
} from "./sqs-consumer.js";

export interface EventConsumerDefinition<D, R> {
  /** The business step for one event. Throw PermanentError for what retrying cannot fix. */
  readonly process: (event: SpoolEvent<D>, context: RecordContext) => Promise<R>;
}

/**
 * An SQS handler for Spool events (the queue of an EventSubscription): the body is validated
 * with `schema` (built by `eventSchema`, which also unwraps a whole EventBridge event to its
 * `detail`), and the idempotency key is the event id.
 *
 * The event id is the right key here: it is minted once, in the producer's transaction, and
 * every re-publish of the outbox row (a publisher retry, a crash before the checkpoint, an
 * operator replay) carries the same id, while each delivery gets a new SQS message id.
 */
export function eventConsumerHandler<D, R>(
  schema: ZodType<SpoolEvent<D>>,
  build: (deps: ConsumerDependencies) => EventConsumerDefinition<D, R>,
) {
  return sqsConsumerHandler(schema, (deps) => {
    const definition = build(deps);
    return {
      idempotencyKey: (event) => event.id,
      process: definition.process,
    };
  });
}
