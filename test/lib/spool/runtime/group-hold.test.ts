/**
 * Group hold (group-hold.ts) in the record pipeline, on an in-memory hold table: a FIFO group
 * whose record is dead-lettered is held, later records are parked behind it, and a replay (the
 * replay marker) applies the group in order and releases the hold.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { consumerConfigFromEnv } from "../../../../lib/spool/runtime/consumer-config.js";
import { PermanentError } from "../../../../lib/spool/runtime/errors.js";
import { groupHoldKey } from "../../../../lib/spool/runtime/group-hold.js";
import { REPLAY_ATTRIBUTE } from "../../../../lib/spool/runtime/replay-marker.js";
import { fakeHoldTable } from "../../../helpers/fake-hold-table.js";
import { sqsRecord, stringAttribute } from "../../../helpers/sqs.js";
import {
  body,
  deadLetters,
  failedIds,
  harness,
  invoke,
  metadataOf,
  useConsumerHarness,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();
const dynamoMock = mockClient(DynamoDBClient);
let table: ReturnType<typeof fakeHoldTable>;
beforeEach(() => {
  dynamoMock.reset();
  table = fakeHoldTable(dynamoMock);
});

const HOLD = groupHoldKey("test-consumer", "g");

/** The n-th message of a group ("g" unless said), as first sent: message id m-<n>. */
const sent = (n: number, group = "g") =>
  sqsRecord({
    messageId: `${group === "g" ? "m" : group}-${n}`,
    body: body(`${group}${n}`),
    fifo: true,
    groupId: group,
  });

/** A replay of the dead letter of message `originalId` (the n-th of group g): new id r-<n>. */
const replayed = (n: number, originalId = `m-${n}`, messageId = `r-${n}`): SQSRecord =>
  sqsRecord({
    messageId,
    body: body(`g${n}`),
    fifo: true,
    groupId: "g",
    messageAttributes: {
      [REPLAY_ATTRIBUTE]: stringAttribute(
        JSON.stringify({ replayId: "replay-1", count: 1, deadLetterId: `dl-${n}`, originalId }),
      ),
    },
  });

/** A step that fails message g2 for good while `broken.on` is true; `ran()`: what it applied. */
function breakable() {
  const broken = { on: true };
  const applied: string[] = [];
  const h = harness({
    config: { holdGroupOnDeadLetter: true },
    process: async (message) => {
      if (broken.on && message.id === "g2") {
        throw new PermanentError("broken", { code: "INJECTED_PERMANENT" });
      }
      applied.push(message.id);
      return { handled: message.id };
    },
  });
  const ran = () => [...applied];
  return { h, broken, ran };
}

const codes = () =>
  deadLetters().map((d) => `${metadataOf(d).messageId}:${metadataOf(d).errorCode}`);

describe("a FIFO consumer with holdGroupOnDeadLetter", () => {
  it("holds the group of a dead-lettered record: the records after it are parked (GROUP_HELD), not run; another group runs", async () => {
    const { h, ran } = breakable();
    const response = await invoke(h, sent(1), sent(2), sent(3), sent(4), sent(1, "o"));
    expect(failedIds(response)).toEqual([]);
    expect(ran()).toEqual(["g1", "o1"]);
    expect(codes()).toEqual(["m-2:INJECTED_PERMANENT", "m-3:GROUP_HELD", "m-4:GROUP_HELD"]);
    expect(metadataOf(deadLetters()[1]).reason).toBe("group-held");
    expect(table.items.get(HOLD)?.head?.S).toBe("m-2");
    expect(table.set(HOLD, "owed")).toEqual(["m-2", "m-3", "m-4"]);
    expect(table.items.get(HOLD)?.parked?.N).toBe("2");
    expect(h.metricNames()).toEqual(expect.arrayContaining(["GroupHeld", "GroupHoldParked"]));

    // A record of the group arriving later is parked too; the other group is not held.
    await invoke(h, sent(5), sent(2, "o"));
    expect(ran()).toEqual(["g1", "o1", "o2"]);
    expect(table.set(HOLD, "owed")).toEqual(["m-2", "m-3", "m-4", "m-5"]);
    expect(table.items.has(groupHoldKey("test-consumer", "o"))).toBe(false);
  });

  it("applies a replay of the group in order, releases the hold, and runs the group's next record", async () => {
    const { h, broken, ran } = breakable();
    await invoke(h, sent(1), sent(2), sent(3), sent(4));
    broken.on = false;
    await invoke(h, replayed(2), replayed(3), replayed(4));
    expect(ran()).toEqual(["g1", "g2", "g3", "g4"]);
    expect(table.items.has(HOLD)).toBe(false);
    expect(h.metricNames()).toContain("GroupHoldReleased");
    await invoke(h, sent(5));
    expect(ran()).toEqual(["g1", "g2", "g3", "g4", "g5"]);
  });

  it("keeps the group held when the replayed head fails again: the replays behind it are parked again, and the next replay applies them", async () => {
    const { h, broken, ran } = breakable();
    await invoke(h, sent(1), sent(2), sent(3));
    deadLetters().length = 0;
    await invoke(h, replayed(2), replayed(3));
    expect(ran()).toEqual(["g1"]); // g2 ran and failed again; g3 did not run
    expect(h.process.mock.calls.map(([m]) => m.id)).toEqual(["g1", "g2", "g2"]);
    expect(table.items.get(HOLD)?.head?.S).toBe("r-2");
    expect(table.set(HOLD, "retired")).toEqual(["m-2", "m-3"]);
    // The second replay carries the new dead letters' ids (their metadata's messageId).
    broken.on = false;
    await invoke(h, replayed(2, "r-2", "s-2"), replayed(3, "r-3", "s-3"));
    expect(ran()).toEqual(["g1", "g2", "g3"]);
    expect(table.items.has(HOLD)).toBe(false);
  });

  it("after a replay of the head alone stays held: a new record is parked behind the rest, not run ahead of it", async () => {
    const { h, broken, ran } = breakable();
    await invoke(h, sent(1), sent(2), sent(3));
    broken.on = false;
    await invoke(h, replayed(2));
    expect(ran()).toEqual(["g1", "g2"]);
    expect(table.items.get(HOLD)?.head).toBeUndefined();
    await invoke(h, sent(4));
    expect(ran()).toEqual(["g1", "g2"]);
    await invoke(h, replayed(3), replayed(4));
    expect(ran()).toEqual(["g1", "g2", "g3", "g4"]);
    expect(table.items.has(HOLD)).toBe(false);
  });

  it("counts a replay answered as a duplicate (its work was already done) as applied", async () => {
    const { h, broken, ran } = breakable();
    // g3's work is done by another delivery (another group here: the key is the message's id).
    await invoke(h, sqsRecord({ messageId: "z-3", body: body("g3"), fifo: true, groupId: "z" }));
    await invoke(h, sent(1), sent(2), sent(3));
    expect(table.set(HOLD, "owed")).toEqual(["m-2", "m-3"]);
    broken.on = false;
    await invoke(h, replayed(2), replayed(3));
    expect(ran()).toEqual(["g3", "g1", "g2"]);
    expect(h.metricNames()).toContain("DuplicatesSuppressed");
    expect(table.items.has(HOLD)).toBe(false);
  });

  it("is off by default: the group moves on past its dead letter (the replay would come out of order)", async () => {
    const broken = harness({
      process: async (message) => {
        if (message.id === "g2") throw new PermanentError("broken", { code: "INJECTED_PERMANENT" });
        return { handled: message.id };
      },
    });
    await invoke(broken, sent(1), sent(2), sent(3));
    expect(broken.process.mock.calls.map(([m]) => m.id)).toEqual(["g1", "g2", "g3"]);
    expect(dynamoMock.calls()).toHaveLength(0);
  });

  it("on a standard queue holds nothing", async () => {
    const { h, ran } = breakable();
    await invoke(
      h,
      ...[1, 2, 3].map((n) => sqsRecord({ messageId: `m-${n}`, body: body(`g${n}`) })),
    );
    expect(ran().sort()).toEqual(["g1", "g3"]);
    expect(dynamoMock.calls()).toHaveLength(0);
  });
});

describe("SPOOL_HOLD_GROUP_ON_DEAD_LETTER", () => {
  it("is read as true or false, and needs the idempotency table", () => {
    const table = { SPOOL_IDEMPOTENCY_TABLE: "t" };
    expect(consumerConfigFromEnv({ ...table }).holdGroupOnDeadLetter).toBeUndefined();
    expect(
      consumerConfigFromEnv({ ...table, SPOOL_HOLD_GROUP_ON_DEAD_LETTER: "false" })
        .holdGroupOnDeadLetter,
    ).toBeUndefined();
    expect(
      consumerConfigFromEnv({ ...table, SPOOL_HOLD_GROUP_ON_DEAD_LETTER: "true" })
        .holdGroupOnDeadLetter,
    ).toBe(true);
    expect(() =>
      consumerConfigFromEnv({ ...table, SPOOL_HOLD_GROUP_ON_DEAD_LETTER: "yes" }),
    ).toThrow('SPOOL_HOLD_GROUP_ON_DEAD_LETTER must be "true" or "false", got "yes"');
    expect(() => consumerConfigFromEnv({ SPOOL_HOLD_GROUP_ON_DEAD_LETTER: "true" })).toThrow(
      "SPOOL_HOLD_GROUP_ON_DEAD_LETTER needs SPOOL_IDEMPOTENCY_TABLE",
    );
  });
});
