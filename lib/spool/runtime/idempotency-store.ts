/**
 * Powertools' DynamoDB idempotency store, able to say where a message's record is: the effect
 * fence (effect-fence.ts) writes its marks on that record, and Powertools keeps the hashing of
 * the key to itself (a protected method), so a subclass is the one way to ask it.
 */
import type { JSONValue } from "@aws-lambda-powertools/commons/types";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { DynamoDBPersistenceOptions } from "@aws-lambda-powertools/idempotency/types";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { IdempotencyRecordRef } from "./effect-fence.js";

/** The status attribute, set explicitly so the fence's conditions name the one Powertools writes. */
const STATUS_ATTRIBUTE = "status";

export class SpoolIdempotencyStore extends DynamoDBPersistenceLayer {
  readonly #table: string;

  constructor(options: DynamoDBPersistenceOptions) {
    super({ ...options, statusAttr: STATUS_ATTRIBUTE });
    this.#table = options.tableName;
  }

  /** Where the record of the step called with `data` is (call after `configure`). */
  recordRefOf(data: unknown): IdempotencyRecordRef {
    const key = unmarshall(this.getKey(this.getHashedIdempotencyKey(data as JSONValue))) as Record<
      string,
      string
    >;
    return { table: this.#table, key, statusAttribute: STATUS_ATTRIBUTE };
  }
}

/** Whether a store can place a record (the fence needs it; a test's in-memory store cannot). */
export function canPlaceRecords(store: unknown): store is SpoolIdempotencyStore {
  return store instanceof SpoolIdempotencyStore;
}
