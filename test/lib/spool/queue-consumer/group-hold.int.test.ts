import { SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import {
  failingValue,
  HELD_GROUPS_CONSUMER,
  heldGroupKey,
  heldSwitchKey,
} from "../../../../lambdas/held-groups/contract.js";
import { groupHoldKey } from "../../../../lib/spool/runtime/group-hold-policy.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import {
  ddb,
  functionLogLines,
  getItem,
  output,
  sqs,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";
import { spool } from "../../../helpers/operations.js";

/**
 * holdGroupOnDeadLetter on the emulator (the held-groups test consumer, lambdas/held-groups):
 * a FIFO group whose second message is dead-lettered is held, the messages after it are parked
 * behind it in the DLQ instead of running, and one replay after the fix applies the group in
 * order, exactly once; another group runs on throughout.
 */
const queueUrl = () => output("HeldGroupsQueueUrl");
const effects = () => output("EffectsTableName");
/** The source queue's SQS name: what `spool dlq replay` is given. */
const queueName = () => queueUrl().split("/").pop() as string;

async function applied(runId: string, group: string): Promise<number[]> {
  const item = await getItem(effects(), heldGroupKey(runId, group));
  return (item?.applied ?? []) as number[];
}

const hold = (group: string) =>
  getItem(output("IdempotencyTableName"), { id: groupHoldKey(HELD_GROUPS_CONSUMER, group) });

function sequenced(runId: string, group: string, seqs: readonly number[]) {
  return seqs.map((seq) => {
    const input = spoolMessage({
      queueUrl: queueUrl(),
      body: { schemaVersion: 1, runId, group, seq },
      groupId: group,
      deduplicationId: `${group}#${seq}`,
    });
    return {
      Id: `${group.slice(-4)}-${seq}`,
      MessageBody: input.MessageBody,
      MessageAttributes: input.MessageAttributes,
      MessageGroupId: input.MessageGroupId,
      MessageDeduplicationId: input.MessageDeduplicationId,
    };
  });
}

describe("FIFO group hold (held-groups)", () => {
  it("holds a group behind its dead-lettered head; one replay applies it in order, nothing lost, and another group runs on", async () => {
    const runId = uniqueId("hg");
    const held = `${runId}-held`;
    const other = `${runId}-other`;
    // The fault: seq 2 of the held group fails for good while the switch is on.
    await ddb.send(
      new PutCommand({
        TableName: effects(),
        Item: { ...heldSwitchKey(runId), failing: failingValue(held, 2) },
      }),
    );
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl(),
        Entries: [...sequenced(runId, held, [1, 2, 3, 4, 5])],
      }),
    );
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl(),
        Entries: [...sequenced(runId, other, [1, 2, 3, 4, 5])],
      }),
    );

    // The head (seq 2) dead-lettered, and 3..5 parked behind it: four dead letters owed, three
    // of them parked.
    const started = await waitFor(
      async () => {
        const item = await hold(held);
        return (item?.owed as Set<string> | undefined)?.size === 4 ? item : undefined;
      },
      { what: "the held group's hold owing four dead letters", timeoutMs: 120_000 },
    );
    expect(started.parked).toBe(3);
    expect(typeof started.head).toBe("string");
    const parked = await waitFor(
      async () => {
        const lines = (await functionLogLines(output("HeldGroupsFunctionName"), held)).filter(
          (l) => l.message === "parked behind its group's dead-lettered head",
        );
        return lines.length >= 3 ? lines : undefined;
      },
      { what: "three parked lines of the held group", timeoutMs: 60_000 },
    );
    expect(parked.map((l) => l.head)).toEqual([started.head, started.head, started.head]);
    // The hold started once (the head), not again with each record parked behind it.
    const holdLines = (await functionLogLines(output("HeldGroupsFunctionName"), held)).filter((l) =>
      String(l.message).startsWith("group held"),
    );
    expect(holdLines.map((l) => l.head)).toEqual([started.head]);
    // The head is first in the DLQ's group, with the failure that stopped it.
    const letters = await waitFor(
      async () => {
        const { json } = await spool("dlq", "list", queueName(), "--limit", "1000", "--json");
        const found = (json ?? []).filter((l: { body: string }) => l.body.includes(held));
        return found.length > 0 ? found : undefined;
      },
      { what: "the held group's dead letters in `spool dlq list`", timeoutMs: 60_000 },
    );
    expect(letters[0]).toMatchObject({
      originalId: started.head,
      errorCode: "INJECTED_PERMANENT",
      reason: "permanent-failure",
    });
    // Nothing after the head ran; the other group ran through.
    await waitFor(async () => (await applied(runId, other)).length === 5, {
      what: "all five messages of the other group",
      timeoutMs: 120_000,
    });
    expect(await applied(runId, held)).toEqual([1]);
    expect(await applied(runId, other)).toEqual([1, 2, 3, 4, 5]);

    // The operator sees the hold.
    const listed = await spool("consumers", "holds", output("HeldGroupsFunctionName"), "--json");
    expect(listed.code).toBe(0);
    expect(listed.json.holds).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ group: held, parked: 3, outstanding: 4, head: started.head }),
      ]),
    );

    // The fix, then the replay operators use (filtered to this run, in the group's order).
    await ddb.send(new DeleteCommand({ TableName: effects(), Key: heldSwitchKey(runId) }));
    const replay = await spool(
      "dlq",
      "replay",
      queueName(),
      "--where",
      `runId == '${runId}'`,
      "--json",
    );
    expect(replay.code).toBe(0);
    expect(replay.json).toMatchObject({ matched: 4, moved: 4 });

    // Applied in order, each exactly once, and the hold released.
    await waitFor(async () => (await applied(runId, held)).length >= 5, {
      what: "the held group applied through seq 5",
      timeoutMs: 120_000,
    });
    expect(await applied(runId, held)).toEqual([1, 2, 3, 4, 5]);
    await waitFor(async () => (await hold(held)) === undefined, {
      what: "the hold released",
      timeoutMs: 60_000,
    });

    // The group moves on as usual; the other group was never touched.
    await sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: queueUrl(),
          body: { schemaVersion: 1, runId, group: held, seq: 6 },
          groupId: held,
          deduplicationId: `${held}#6`,
        }),
      ),
    );
    await waitFor(async () => (await applied(runId, held)).length >= 6, {
      what: "seq 6 of the released group",
      timeoutMs: 60_000,
    });
    expect(await applied(runId, held)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await applied(runId, other)).toEqual([1, 2, 3, 4, 5]);
    expect(await hold(other)).toBeUndefined();
  });
});
