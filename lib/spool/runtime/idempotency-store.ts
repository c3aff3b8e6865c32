/**
 * Powertools' DynamoDB idempotency store, able to say where a message's record is: the effect
 * fence (effect-fence.ts) writes its marks on that record, and Powertools keeps the hashing of
 * the key to itself (a protected method), so a subclass is the one way to ask it.
 *
 * It also skips the update Powertools makes after the step when the fence's transaction already
 * completed the record with the same result (effect-fence.ts, `completesWith`): the one write
 * that would change nothing. Any other result is written as Powertools writes it.
 */
import type { JSONValue } from "@aws-lambda-powertools/commons/types";
import { IdempotencyRecordStatus } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import type { DynamoDBPersistenceOptions } from "@aws-lambda-powertools/idempotency/types";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { canonicalJson } from "./canonical-json.js";
import type { IdempotencyRecordRef } from "./effect-fence.js";

/**
 * The status, result and expiry attributes, set explicitly (to Powertools' defaults) so the
 * fence's conditions and its completing commit name the ones Powertools reads and writes.
 */
const STATUS_ATTRIBUTE = "status";
const DATA_ATTRIBUTE = "data";
const EXPIRY_ATTRIBUTE = "expiration";

export class SpoolIdempotencyStore extends DynamoDBPersistenceLayer {
  readonly #table: string;
  /** Records the fence completed in this invocation: idempotency key → its data's canonical JSON. */
  readonly #completedByFence = new Map<string, string>();

  constructor(options: DynamoDBPersistenceOptions) {
    super({
      ...options,
      statusAttr: STATUS_ATTRIBUTE,
      dataAttr: DATA_ATTRIBUTE,
      expiryAttr: EXPIRY_ATTRIBUTE,
    });
    this.#table = options.tableName;
  }

  /**
   * Where the record of the step called with `data` is (call after `configure`). `stored` says
   * how the pipeline stores a step's result, so a completing commit writes what Powertools would.
   */
  recordRefOf(data: unknown, stored?: (result: unknown) => unknown): IdempotencyRecordRef {
    const hashed = this.getHashedIdempotencyKey(data as JSONValue);
    const key = unmarshall(this.getKey(hashed)) as Record<string, string>;
    const ref = { table: this.#table, key, statusAttribute: STATUS_ATTRIBUTE };
    if (!stored) return ref;
    return {
      ...ref,
      completion: {
        dataAttribute: DATA_ATTRIBUTE,
        expiryAttribute: EXPIRY_ATTRIBUTE,
        // As Powertools' own expiry for a completed record (BasePersistenceLayer).
        expiresAt: () => Math.round(Date.now() / 1000 + this.expiresAfterSeconds),
        stored,
        committed: (written) => this.#completedByFence.set(hashed, canonicalJson(written)),
      },
    };
  }

  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    const written = this.#completedByFence.get(record.idempotencyKey);
    this.#completedByFence.delete(record.idempotencyKey);
    const unchanged =
      written !== undefined &&
      record.getStatus() === IdempotencyRecordStatus.COMPLETED &&
      written === canonicalJson(record.responseData);
    if (unchanged) return;
    await super._updateRecord(record);
  }

  protected override async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    // The step failed after its commit: the record goes, and so does the note of it.
    this.#completedByFence.delete(record.idempotencyKey);
    await super._deleteRecord(record);
  }
}

/** Whether a store can place a record (the fence needs it; a test's in-memory store cannot). */
export function canPlaceRecords(store: unknown): store is SpoolIdempotencyStore {
  return store instanceof SpoolIdempotencyStore;
}
