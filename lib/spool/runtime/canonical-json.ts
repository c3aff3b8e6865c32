/**
 * Canonical JSON: object keys sorted by UTF-16 code unit (RFC 8785's order) at every depth, no
 * whitespace, so two equal documents give equal text whatever order their keys were built in.
 * Used where equality or a hash must not depend on key order: a task's payload hash, a saga
 * execution's "same work" check, a checkout request's hash.
 *
 * Otherwise it follows JSON.stringify: `toJSON` is honoured (a Date becomes its ISO string), an
 * undefined (or function) member is left out of its object and becomes `null` in an array. A bare
 * undefined, which JSON cannot say, is `null` too, so the result is always a string.
 *
 * SDK-free and dependency-free: every construct's copy of the toolkit can carry it.
 */
export function canonicalJson(value: unknown): string {
  const json = toJsonValue(value);
  if (json === undefined) return "null";
  if (Array.isArray(json)) return `[${json.map(canonicalJson).join(",")}]`;
  if (json !== null && typeof json === "object") {
    const members = Object.entries(json as Record<string, unknown>)
      .filter(([, member]) => toJsonValue(member) !== undefined)
      // Plain code-unit order; Object.keys would put integer-like keys ("9" before "10") first.
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(json);
}

/** The value JSON.stringify would serialise: after `toJSON`, undefined for what it leaves out. */
function toJsonValue(value: unknown): unknown {
  const json =
    value !== null &&
    typeof value === "object" &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
      ? (value as { toJSON: () => unknown }).toJSON()
      : value;
  return typeof json === "function" || typeof json === "symbol" ? undefined : json;
}
