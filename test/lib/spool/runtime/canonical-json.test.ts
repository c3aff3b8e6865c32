import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../../../lib/spool/runtime/canonical-json.js";

describe("canonicalJson", () => {
  it("sorts keys, so key order does not change the text", () => {
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  it("sorts keys at every depth, including objects inside arrays", () => {
    expect(canonicalJson({ z: { y: 1, x: { b: 2, a: 1 } }, list: [{ d: 4, c: 3 }] })).toBe(
      '{"list":[{"c":3,"d":4}],"z":{"x":{"a":1,"b":2},"y":1}}',
    );
  });

  it("keeps array order: a different order is different work", () => {
    expect(canonicalJson([2, 1])).toBe("[2,1]");
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it("orders integer-like keys as text, not as JavaScript orders object keys", () => {
    expect(canonicalJson({ 9: "a", 10: "b", a: "c" })).toBe('{"10":"b","9":"a","a":"c"}');
  });

  it("leaves out undefined members, writes undefined array elements and a bare undefined as null", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson({ a: undefined, b: 1 })).toBe(canonicalJson({ b: 1 }));
    expect(canonicalJson([1, undefined])).toBe("[1,null]");
    expect(canonicalJson(undefined)).toBe("null");
  });

  it("writes scalars, strings with escapes and Dates as JSON.stringify does", () => {
    expect(canonicalJson(null)).toBe("null");
    expect(canonicalJson(1.5)).toBe("1.5");
    expect(canonicalJson(true)).toBe("true");
    expect(canonicalJson('say "hi"\n')).toBe(JSON.stringify('say "hi"\n'));
    expect(canonicalJson({ at: new Date("2026-03-01T10:00:00Z") })).toBe(
      '{"at":"2026-03-01T10:00:00.000Z"}',
    );
  });

  it("gives the text JSON.parse reads back as the same value", () => {
    const value = { order: { id: "o-1", lines: [{ sku: "a", qty: 2 }] }, note: null };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });
});
