import { describe, expect, it } from "vitest";
import {
  IllegalTransitionError,
  transitionTable,
} from "../../../../lib/spool/runtime/transitions.js";

type Status = "(none)" | "OPEN" | "PAUSED" | "BUSY" | "DONE";

const table = transitionTable<Status, "open" | "take" | "close" | "reopen">({
  subject: "ticket",
  statusAttribute: "state",
  absent: { source: "(none)", expression: "attribute_not_exists(pk)" },
  transitions: {
    open: { from: ["(none)"], to: "OPEN" },
    take: {
      from: ["(none)", "OPEN", "PAUSED", { status: "BUSY", when: "leaseUntil < :nowMs" }],
      to: "BUSY",
    },
    close: { from: [{ status: "BUSY", when: "attempts = :attempt" }], to: "DONE" },
    reopen: { from: [], to: "OPEN" },
  },
});

describe("a transition table", () => {
  it("turns a transition's sources into one condition: absence, plain statuses, then guarded ones", () => {
    expect(table.update("take", { values: { ":nowMs": 42 } })).toEqual({
      transition: "take",
      to: "BUSY",
      setStatus: "#status = :busy",
      expression:
        "attribute_not_exists(pk) OR #status IN (:open, :paused) OR (#status = :busy AND leaseUntil < :nowMs)",
      conditionExpression:
        "attribute_not_exists(pk) OR #status IN (:open, :paused) OR (#status = :busy AND leaseUntil < :nowMs)",
      names: { "#status": "state" },
      values: { ":busy": "BUSY", ":open": "OPEN", ":paused": "PAUSED", ":nowMs": 42 },
    });
  });

  it("writes a lone guarded source without parentheses", () => {
    const close = table.update("close", { values: { ":attempt": 2 } });
    expect(close.conditionExpression).toBe("#status = :busy AND attempts = :attempt");
    expect(close.values).toEqual({ ":done": "DONE", ":busy": "BUSY", ":attempt": 2 });
  });

  it("gives a record-creating condition only what it uses (DynamoDB refuses unused names)", () => {
    expect(table.condition("open")).toEqual({
      expression: "attribute_not_exists(pk)",
      names: {},
      values: {},
    });
  });

  it("refuses to build a guarded write without its guard's value, naming the placeholder", () => {
    expect(() => table.update("close")).toThrow(
      "ticket transition close from BUSY needs a value for :attempt (attempts = :attempt)",
    );
  });

  it("lets a writer narrow the sources but never widen them", () => {
    expect(table.condition("take", { onlyFrom: ["OPEN", "DONE"] }).expression).toBe(
      "#status IN (:open)",
    );
    expect(() => table.condition("take", { onlyFrom: ["DONE"] })).toThrow(
      "no status may move to BUSY (ticket transition take, narrowed to DONE)",
    );
  });

  it("refuses a transition nothing may take, and one it does not have", () => {
    expect(() => table.update("reopen")).toThrow("no status may move to OPEN");
    expect(() => table.update("shelve" as never)).toThrow(
      "no ticket transition named shelve; the table has open, take, close, reopen",
    );
  });

  it("answers what a transition may start from, guards aside", () => {
    expect(table.sources("take")).toEqual(["(none)", "OPEN", "PAUSED", "BUSY"]);
    expect(table.allows("take", "BUSY")).toBe(true);
    expect(table.allows("take", "DONE")).toBe(false);
    expect(table.allows("close", "OPEN")).toBe(false);
  });

  it("names the record, the status found and the target in a refusal", () => {
    const error = table.refused("close", "t-7", "OPEN");
    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect(error).toMatchObject({ subject: "ticket", key: "t-7", from: "OPEN", to: "DONE" });
    expect(error.message).toBe("ticket t-7 cannot move from OPEN to DONE");
  });

  it("keeps a table's own placeholder names (expressions already deployed)", () => {
    const fixed = transitionTable<"NEW" | "A" | "B", "B">({
      subject: "job",
      statusAttribute: "status",
      absent: {
        source: "NEW",
        expression: "attribute_not_exists(#id)",
        names: { "#id": "id" },
      },
      transitions: { B: { from: ["NEW", "A", "B"], to: "B" } },
      placeholders: { source: (_status, i) => `:from${i}`, target: () => ":to" },
    });
    expect(fixed.update("B")).toMatchObject({
      setStatus: "#status = :to",
      conditionExpression: "attribute_not_exists(#id) OR #status IN (:from0, :from1)",
      names: { "#status": "status", "#id": "id" },
      values: { ":to": "B", ":from0": "A", ":from1": "B" },
    });
  });
});
