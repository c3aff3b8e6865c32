/**
 * An in-memory stand-in for the group holds' items (group-hold.ts): it evaluates the update,
 * condition and delete expressions GroupHolds sends (SET with if_not_exists and +, ADD to a
 * number or a string set, REMOVE; attribute_exists and = conditions), so the consumer's hold
 * logic runs against real item semantics. Any other expression throws.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import type { AwsClientStub } from "aws-sdk-client-mock";

type Item = Record<string, AttributeValue>;

export interface FakeHoldTable {
  readonly items: Map<string, Item>;
  /** A string set of an item, sorted. */
  set(id: string, attribute: string): string[];
}

const failed = () =>
  new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });

function conditionHolds(
  condition: string | undefined,
  item: Item | undefined,
  name: (t: string) => string,
  value: (t: string) => AttributeValue,
): boolean {
  if (!condition) return true;
  const exists = /^attribute_exists\((#\w+)\)$/.exec(condition);
  if (exists) return item?.[name(exists[1] as string)] !== undefined;
  const equals = /^(#\w+) = (:\w+)$/.exec(condition);
  if (equals) {
    return item?.[name(equals[1] as string)]?.N === value(equals[2] as string).N;
  }
  throw new Error(`unexpected condition: ${condition}`);
}

export function fakeHoldTable(mock: AwsClientStub<DynamoDBClient>): FakeHoldTable {
  const items = new Map<string, Item>();
  const table: FakeHoldTable = {
    items,
    set: (id, attribute) => [...(items.get(id)?.[attribute]?.SS ?? [])].sort(),
  };
  const names = (input: { ExpressionAttributeNames?: Record<string, string> }) => (t: string) => {
    const n = input.ExpressionAttributeNames?.[t];
    if (n === undefined) throw new Error(`undeclared name ${t}`);
    return n;
  };
  const values =
    (input: { ExpressionAttributeValues?: Record<string, AttributeValue> }) => (t: string) => {
      const v = input.ExpressionAttributeValues?.[t];
      if (v === undefined) throw new Error(`undeclared value ${t}`);
      return v;
    };

  mock.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
    const item = items.get(input.Key?.id?.S ?? "");
    return { Item: item ? structuredClone(item) : undefined };
  });

  mock.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
    const id = input.Key?.id?.S ?? "";
    const old = items.get(id);
    const name = names(input);
    const value = values(input);
    if (!conditionHolds(input.ConditionExpression, old, name, value)) throw failed();
    const item: Item = structuredClone(old ?? { id: { S: id } });
    const touched = new Set<string>();
    const operand = (t: string): AttributeValue | undefined => {
      const ifNotExists = /^if_not_exists\((#\w+), (:\w+)\)$/.exec(t);
      if (ifNotExists) {
        return item[name(ifNotExists[1] as string)] ?? value(ifNotExists[2] as string);
      }
      return t.startsWith("#") ? item[name(t)] : value(t);
    };
    const clauses = (input.UpdateExpression ?? "").matchAll(
      /(SET|ADD|REMOVE) (.*?)(?= SET | ADD | REMOVE |$)/g,
    );
    for (const [, verb, body] of clauses) {
      for (const part of (body as string).split(/,\s*(?![^()]*\))/)) {
        if (verb === "SET") {
          const [target, expr] = part.split(" = ") as [string, string];
          const [left, right] = expr.split(" + ");
          let result = operand(left as string);
          if (right !== undefined) {
            result = { N: String(Number(result?.N) + Number(operand(right)?.N)) };
          }
          item[name(target)] = result as AttributeValue;
          touched.add(name(target));
        } else if (verb === "ADD") {
          const [target, v] = part.split(" ") as [string, string];
          const was = item[name(target)];
          const add = value(v);
          item[name(target)] = add.SS
            ? { SS: [...new Set([...(was?.SS ?? []), ...add.SS])] }
            : { N: String(Number(was?.N ?? 0) + Number(add.N)) };
          touched.add(name(target));
        } else {
          delete item[name(part.trim())];
          touched.add(name(part.trim()));
        }
      }
    }
    items.set(id, item);
    if (input.ReturnValues === "ALL_NEW") return { Attributes: structuredClone(item) };
    if (input.ReturnValues === "UPDATED_OLD" && old) {
      return {
        Attributes: Object.fromEntries(Object.entries(old).filter(([k]) => touched.has(k))) as Item,
      };
    }
    return {};
  });

  mock.on(DeleteItemCommand).callsFake((input: DeleteItemCommandInput) => {
    const id = input.Key?.id?.S ?? "";
    if (!conditionHolds(input.ConditionExpression, items.get(id), names(input), values(input))) {
      throw failed();
    }
    items.delete(id);
    return {};
  });
  return table;
}
