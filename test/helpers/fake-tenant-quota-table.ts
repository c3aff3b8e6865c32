/**
 * An in-memory stand-in for the tenant quota's items (tenant-quota.ts): it evaluates the three
 * conditional writes of QUOTA_WRITES (take a slot under `n < max`, give one back, reclaim an
 * expired lease) and GetItem, so tests see real condition failures and the count and the lease
 * attributes (`L<k>_<id>`, k slots each) move together as they do in DynamoDB.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { QUOTA_WRITES } from "../../lib/spool/runtime/tenant-quota.js";

type Item = Record<string, AttributeValue>;

export interface FakeTenantQuotaTable {
  readonly items: Map<string, Item>;
  /** Every UpdateItem, in order. */
  readonly updates: UpdateItemCommandInput[];
  readonly reads: GetItemCommandInput[];
  /** Called before each update is evaluated (a concurrent writer); return nothing. */
  beforeWrite: ((input: UpdateItemCommandInput) => void) | undefined;
  /** false: a failed condition returns no item (as an emulator may), so the reader must GetItem. */
  returnItemOnFailure: boolean;
  /** The item's count of slots held. */
  countOf(id: string): number;
  /** The lease attributes of an item, name → expiry (epoch ms). */
  leasesOf(id: string): Record<string, number>;
  /** Puts leases (name → expiry) as crashed invocations would have left them. */
  setLeases(id: string, leases: Record<string, number>): void;
}

export function fakeTenantQuotaTable(mock: AwsClientStub<DynamoDBClient>): FakeTenantQuotaTable {
  const table: FakeTenantQuotaTable = {
    items: new Map(),
    updates: [],
    reads: [],
    returnItemOnFailure: true,
    beforeWrite: undefined,
    countOf: (id) => Number(table.items.get(id)?.n?.N ?? 0),
    leasesOf: (id) =>
      Object.fromEntries(
        Object.entries(table.items.get(id) ?? {})
          .filter(([name]) => /^L\d+_/.test(name))
          .map(([name, value]) => [name, Number(value.N)]),
      ),
    setLeases: (id, leases) => {
      const slots = Object.keys(leases).reduce(
        (sum, name) => sum + Number(/^L(\d+)_/.exec(name)?.[1] ?? 1),
        0,
      );
      const item: Item = { id: { S: id }, n: { N: String(slots) } };
      for (const [name, until] of Object.entries(leases)) item[name] = { N: String(until) };
      table.items.set(id, item);
    },
  };
  mock.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
    table.updates.push(input);
    table.beforeWrite?.(input);
    const id = input.Key?.id?.S ?? "";
    const lease = input.ExpressionAttributeNames?.["#lease"] ?? "";
    const values = input.ExpressionAttributeValues ?? {};
    const item: Item = { ...(table.items.get(id) ?? { id: { S: id } }) };
    const n = Number(item.n?.N ?? 0);
    const fail = () => {
      throw new ConditionalCheckFailedException({
        message: "The conditional request failed",
        $metadata: {},
        ...(table.returnItemOnFailure && table.items.has(id) ? { Item: table.items.get(id) } : {}),
      });
    };
    if (input.UpdateExpression === QUOTA_WRITES.take.update) {
      if (item.n !== undefined && !(n <= Number(values[":room"]?.N))) fail();
      item[lease] = values[":until"] as AttributeValue;
      item.expiration = values[":exp"] as AttributeValue;
      item.n = { N: String(n + Number(values[":k"]?.N)) };
    } else if (input.ConditionExpression === QUOTA_WRITES.give.condition) {
      if (item[lease] === undefined) fail();
      delete item[lease];
      item.n = { N: String(n + Number(values[":minusK"]?.N)) };
    } else if (input.ConditionExpression === QUOTA_WRITES.reclaim.condition) {
      if (item[lease]?.N !== values[":until"]?.N) fail();
      delete item[lease];
      item.n = { N: String(n + Number(values[":minusK"]?.N)) };
    } else {
      throw new Error(`unexpected update ${input.UpdateExpression}`);
    }
    table.items.set(id, item);
    return {};
  });
  mock.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
    table.reads.push(input);
    const item = table.items.get(input.Key?.id?.S ?? "");
    return item ? { Item: item } : {};
  });
  return table;
}
