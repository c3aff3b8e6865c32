import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";

// The OperatorAudit table's item writes and reads that every kind of audit record shares.

/** Sets the record's defined fields on an audit item: how an operation that started ended. */
export async function setFields(
  db: DynamoDBDocumentClient,
  table: string,
  key: { pk: string; sk: string },
  record: object,
): Promise<void> {
  const fields = Object.entries(record).filter(([, v]) => v !== undefined);
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: key,
      UpdateExpression: `SET ${fields.map((_, i) => `#f${i} = :v${i}`).join(", ")}`,
      ExpressionAttributeNames: Object.fromEntries(fields.map(([k], i) => [`#f${i}`, k])),
      ExpressionAttributeValues: Object.fromEntries(fields.map(([, v], i) => [`:v${i}`, v])),
    }),
  );
}

/** The newest `limit` summary items of a history partition (sorted by start time). */
export async function newestFirst<T>(
  db: DynamoDBDocumentClient,
  table: string,
  partition: string,
  limit: number,
): Promise<T[]> {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": partition },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return Items as T[];
}

/**
 * One kind of operator change in the OperatorAudit table, under its own partition sorted by start
 * time: recorded as `running` before anything is touched, so a change whose CLI died midway
 * still names who asked for it and what the state was before, then completed with its outcome.
 */
export class PartitionAudit<S extends { readonly startedAt: string }, F extends object, E> {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #keys = new Map<string, { pk: string; sk: string }>();

  constructor(
    db: DynamoDBDocumentClient,
    table: string,
    private readonly partition: string,
    private readonly idOf: (record: S) => string,
    private readonly what: string,
  ) {
    this.#db = db;
    this.#table = table;
  }

  async started(record: S): Promise<void> {
    const id = this.idOf(record);
    const key = { pk: this.partition, sk: `${record.startedAt}#${id}` };
    this.#keys.set(id, key);
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...key, ...record, status: "running" },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  }

  async finished(id: string, record: F): Promise<void> {
    const key = this.#keys.get(id);
    if (!key) throw new Error(`${this.what} ${id} was not started through this audit`);
    await setFields(this.#db, this.#table, key, record);
  }

  /** The most recent changes of this kind, newest first. */
  async history(limit: number): Promise<E[]> {
    return newestFirst<E>(this.#db, this.#table, this.partition, limit);
  }
}
