/**
 * An in-memory stand-in for the circuit breakers' table: it recognises each conditional write of
 * circuit-breaker.ts (BREAKER_WRITES) by its update expression, evaluates its condition on the
 * item it holds and applies it, so tests see real condition failures. `beforeWrite` runs before
 * each write is evaluated: a test changes the item there to play a concurrent invocation.
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
import { BREAKER_WRITES, type BreakerWrite } from "../../lib/spool/runtime/circuit-breaker.js";

type Item = Record<string, AttributeValue>;

export interface FakeBreakerTable {
  readonly items: Map<string, Item>;
  /** Called before each write is evaluated (a concurrent writer); `write` names it. */
  beforeWrite: ((id: string, write: BreakerWrite) => void) | undefined;
  /** false: a failed condition returns no item (as an emulator may), so the reader must GetItem. */
  returnItemOnFailure: boolean;
  /** The writes sent, by name, and whether their condition held. */
  readonly writes: { readonly name: BreakerWrite; readonly done: boolean }[];
  /** A numeric attribute of an item. */
  num(id: string, attribute: string): number | undefined;
  state(id: string): string | undefined;
}

const n = (value: AttributeValue | undefined) =>
  value?.N === undefined ? undefined : Number(value.N);

function writeOf(input: UpdateItemCommandInput): BreakerWrite {
  const entry = Object.entries(BREAKER_WRITES).find(
    ([, w]) => w.update === input.UpdateExpression && w.condition === input.ConditionExpression,
  );
  if (!entry) throw new Error(`unexpected update: ${input.UpdateExpression}`);
  return entry[0] as BreakerWrite;
}

export function fakeBreakerTable(mock: AwsClientStub<DynamoDBClient>): FakeBreakerTable {
  const table: FakeBreakerTable = {
    items: new Map(),
    beforeWrite: undefined,
    returnItemOnFailure: true,
    writes: [],
    num: (id, attribute) => n(table.items.get(id)?.[attribute]),
    state: (id) => table.items.get(id)?.bstate?.S,
  };
  mock.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
    const id = input.Key?.id?.S ?? "";
    const name = writeOf(input);
    table.beforeWrite?.(id, name);
    const v = input.ExpressionAttributeValues ?? {};
    // Every placeholder the expressions use must be given, and no other (as DynamoDB checks).
    const text = `${input.UpdateExpression} ${input.ConditionExpression}`;
    for (const key of Object.keys(v)) {
      if (!new RegExp(`${key}\\b`).test(text)) throw new Error(`unused value ${key}`);
    }
    const item: Item = { ...(table.items.get(id) ?? { id: { S: id } }) };
    const get = (attribute: string) => n(item[attribute]);
    const notOpen = item.bstate?.S !== "open";
    const thisOpening = item.bstate?.S === "open" && get("gen") === n(v[":gen"]);
    const now = n(v[":now"]) ?? 0;
    const windowEnd = get("windowEnd");
    const holds = {
      addFailure: notOpen && windowEnd !== undefined && windowEnd > now,
      startWindow: notOpen && (windowEnd === undefined || windowEnd <= now),
      open: notOpen && (get("failures") ?? 0) >= (n(v[":threshold"]) ?? 0),
      takeProbe:
        thisOpening &&
        (get("openUntil") ?? 0) <= now &&
        (get("probes") ?? 0) < (n(v[":probes"]) ?? 0),
      reopen: thisOpening,
      close: thisOpening,
    }[name];
    table.writes.push({ name, done: holds });
    if (!holds) {
      const old = table.items.get(id);
      throw new ConditionalCheckFailedException({
        message: "The conditional request failed",
        $metadata: {},
        ...(table.returnItemOnFailure && old ? { Item: old } : {}),
      });
    }
    const set = (attribute: string, value: number | string | undefined) => {
      if (value === undefined) delete item[attribute];
      else item[attribute] = typeof value === "number" ? { N: String(value) } : { S: value };
    };
    const exp = n(v[":exp"]);
    if (exp !== undefined) set("expiration", exp);
    if (name === "addFailure") set("failures", (get("failures") ?? 0) + 1);
    if (name === "startWindow") {
      set("failures", 1);
      set("windowEnd", n(v[":windowEnd"]));
    }
    if (name === "open" || name === "reopen") {
      set("bstate", "open");
      set("openUntil", n(v[":openUntil"]));
      set("probes", 0);
      set("gen", (get("gen") ?? 0) + 1);
      set("failures", undefined);
      set("windowEnd", undefined);
    }
    if (name === "takeProbe") set("probes", (get("probes") ?? 0) + 1);
    if (name === "close") {
      set("bstate", "closed");
      set("probes", 0);
      set("openUntil", undefined);
      set("failures", undefined);
      set("windowEnd", undefined);
    }
    table.items.set(id, item);
    return { Attributes: item };
  });
  mock.on(GetItemCommand).callsFake((input: { Key?: Item }) => {
    const item = table.items.get(input.Key?.id?.S ?? "");
    return item ? { Item: item } : {};
  });
  return table;
}
