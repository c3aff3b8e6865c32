/**
 * An in-memory stand-in for the rate-limit buckets' table: it evaluates the two conditional
 * updates rate-limit.ts sends (a busy bucket moved by one interval, an idle one reset) and
 * GetItem, so tests see real condition failures. `beforeWrite` runs before each update is
 * evaluated: a test moves the bucket there to play a concurrent invocation.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import type { AwsClientStub } from "aws-sdk-client-mock";

type Item = Record<string, AttributeValue>;

export interface FakeBucketTable {
  readonly items: Map<string, Item>;
  /** Sets a bucket's tat (epoch ms) directly. */
  setTat(id: string, tat: number): void;
  tatOf(id: string): number | undefined;
  /** Called before each update is evaluated (a concurrent writer); return nothing. */
  beforeWrite: ((id: string) => void) | undefined;
  /** false: a failed condition returns no item (as an emulator may), so the reader must GetItem. */
  returnItemOnFailure: boolean;
  readonly updates: UpdateItemCommandInput[];
}

const num = (value: AttributeValue | undefined) =>
  value?.N === undefined ? undefined : Number(value.N);

export function fakeBucketTable(mock: AwsClientStub<DynamoDBClient>): FakeBucketTable {
  const table: FakeBucketTable = {
    items: new Map(),
    setTat: (id, tat) => table.items.set(id, { id: { S: id }, tat: { N: String(tat) } }),
    tatOf: (id) => num(table.items.get(id)?.tat),
    beforeWrite: undefined,
    returnItemOnFailure: true,
    updates: [],
  };
  mock.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
    table.updates.push(input);
    const id = input.Key?.id?.S ?? "";
    table.beforeWrite?.(id);
    const values = input.ExpressionAttributeValues ?? {};
    const item = table.items.get(id);
    const tat = num(item?.tat);
    const now = num(values[":now"]) ?? 0;
    const busy = input.UpdateExpression?.includes("#tat + :interval");
    const holds = busy
      ? tat !== undefined && tat > now && tat <= (num(values[":latest"]) ?? 0)
      : tat === undefined || tat <= now;
    if (!holds) {
      throw new ConditionalCheckFailedException({
        message: "The conditional request failed",
        $metadata: {},
        ...(table.returnItemOnFailure && item ? { Item: item } : {}),
      });
    }
    const next = busy ? (tat ?? 0) + (num(values[":interval"]) ?? 0) : (num(values[":next"]) ?? 0);
    const updated = {
      id: { S: id },
      tat: { N: String(next) },
      expiration: values[":exp"] as AttributeValue,
    };
    table.items.set(id, updated);
    return { Attributes: { tat: updated.tat, expiration: updated.expiration } };
  });
  mock.on(GetItemCommand).callsFake((input: { Key?: Item }) => {
    const item = table.items.get(input.Key?.id?.S ?? "");
    return item ? { Item: item } : {};
  });
  return table;
}
