import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
} from "@aws-lambda-powertools/idempotency";
import {
  BasePersistenceLayer,
  IdempotencyRecord,
} from "@aws-lambda-powertools/idempotency/persistence";
import type { IdempotencyRecordStatusValue } from "@aws-lambda-powertools/idempotency/types";
import { marshall } from "@aws-sdk/util-dynamodb";

/** What the table would hold: plain data, as if written to DynamoDB and read back. */
export interface StoredRecord {
  readonly idempotencyKey: string;
  readonly status: IdempotencyRecordStatusValue;
  readonly expiryTimestamp: number | undefined;
  readonly inProgressExpiryTimestamp: number | undefined;
  readonly responseData: unknown;
  readonly payloadHash: string | undefined;
}

/**
 * An in-memory stand-in for Powertools' DynamoDBPersistenceLayer that follows the same contract:
 *
 * - `_putRecord` succeeds when the key is absent, expired, or an in-progress record whose
 *   in-progress expiry has passed (the DynamoDB layer's condition expression); otherwise it throws
 *   `IdempotencyItemAlreadyExistsError` carrying the existing record (as `ReturnValuesOnCondition
 *   CheckFailure: ALL_OLD` lets the DynamoDB layer do);
 * - `_getRecord` throws `IdempotencyItemNotFoundError` for a missing key;
 * - records are copied in and out through JSON, so a stored result comes back as a new object,
 *   as it would from DynamoDB;
 * - a result the DynamoDB layer could not marshal (an undefined value) fails the update as it
 *   does there.
 *
 * Several instances may share one `table` map: that is two Lambda containers sharing one table
 * (each with its own local cache).
 */
export class InMemoryPersistenceLayer extends BasePersistenceLayer {
  readonly table: Map<string, StoredRecord>;
  readonly calls: string[] = [];

  constructor(table: Map<string, StoredRecord> = new Map()) {
    super();
    this.table = table;
  }

  protected override async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    this.calls.push("get");
    const stored = this.table.get(idempotencyKey);
    if (!stored) throw new IdempotencyItemNotFoundError();
    return toRecord(stored);
  }

  protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
    this.calls.push("put");
    const existing = this.table.get(record.idempotencyKey);
    if (existing && !replaceable(existing)) {
      throw new IdempotencyItemAlreadyExistsError(
        `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        toRecord(existing),
      );
    }
    this.table.set(record.idempotencyKey, toStored(record));
  }

  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.calls.push("update");
    // The DynamoDB layer marshalls the result with the SDK's defaults, which refuse undefined
    // values; JSON alone would drop them silently and hide that failure.
    marshall({ data: record.responseData });
    this.table.set(record.idempotencyKey, toStored(record));
  }

  protected override async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.calls.push("delete");
    this.table.delete(record.idempotencyKey);
  }
}

function replaceable(existing: StoredRecord): boolean {
  const nowMs = Date.now();
  if (existing.expiryTimestamp !== undefined && existing.expiryTimestamp < nowMs / 1000) {
    return true;
  }
  return (
    existing.status === IdempotencyRecordStatus.INPROGRESS &&
    existing.inProgressExpiryTimestamp !== undefined &&
    existing.inProgressExpiryTimestamp < nowMs
  );
}

function toStored(record: IdempotencyRecord): StoredRecord {
  return JSON.parse(
    JSON.stringify({
      idempotencyKey: record.idempotencyKey,
      status: record.getStatus(),
      expiryTimestamp: record.expiryTimestamp,
      inProgressExpiryTimestamp: record.inProgressExpiryTimestamp,
      responseData: record.responseData,
      payloadHash: record.payloadHash,
    }),
  ) as StoredRecord;
}

function toRecord(stored: StoredRecord): IdempotencyRecord {
  const copy = JSON.parse(JSON.stringify(stored)) as StoredRecord;
  return new IdempotencyRecord({
    idempotencyKey: copy.idempotencyKey,
    status: copy.status as IdempotencyRecordStatusValue,
    expiryTimestamp: copy.expiryTimestamp,
    inProgressExpiryTimestamp: copy.inProgressExpiryTimestamp,
    responseData: copy.responseData as IdempotencyRecord["responseData"],
    payloadHash: copy.payloadHash,
  });
}
