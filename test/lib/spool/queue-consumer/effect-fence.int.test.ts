/**
 * The effect fence on the emulator (lib/spool/runtime/effect-fence.ts): a FIFO order event out of
 * attempts whose step is still committing at the record deadline gets one outcome, never two.
 *
 * Its first four deliveries fail (injected); on the fifth, the order-events consumer's step holds
 * its commit (`stall-commit:5`) until 100 ms before the 5 s function timeout, past the record
 * deadline (500 ms before it). The record is then out of attempts on a FIFO queue, so it is
 * dead-lettered, and the step goes on and commits afterwards. Without the fence, that commit
 * applied the event as well (the large chaos run found one such message); with it, the give-up
 * mark refuses the commit. If the machine is so loaded that the commit lands before the give-up,
 * the give-up finds it committed and (isDone agreeing) the record is acknowledged instead: still
 * one outcome.
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { parseDeadLetterMetadata } from "../../../../lib/spool/runtime/dead-letter.js";
import { FAULT_ATTRIBUTE } from "../../../../lib/spool/runtime/faults.js";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import { takeMatching } from "../../../../tools/scripts/lib/aws.js";
import {
  type DeadLetter,
  getItem,
  output,
  sqs,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";

const appliedSeqs = async (orderId: string) =>
  (
    ((await getItem(output("EffectsTableName"), { pk: `order#${orderId}`, sk: "projection" }))
      ?.history ?? []) as { seq: number }[]
  ).map((h) => h.seq);

describe("the effect fence (orders, FIFO)", () => {
  it("an event given up at its deadline on its last delivery is dead-lettered or applied, never both", async () => {
    const orderId = uniqueId("o-fence");
    const queueUrl = output("OrdersQueueUrl");
    const input = spoolMessage({
      queueUrl,
      body: {
        schemaVersion: 1,
        orderId,
        seq: 1,
        // Not OrderPlaced: its cart reminder is more work after the effect, which isDone asks
        // about, so a commit that beat the give-up would be dead-lettered for a replay to finish.
        // After any other event nothing follows the projection: one outcome either way.
        type: "OrderShipped",
        customerId: "c-1",
        occurredAt: new Date().toISOString(),
      },
      groupId: orderId,
      deduplicationId: `${orderId}#1`,
      attributes: { [FAULT_ATTRIBUTE]: "transient:4,stall-commit:5" },
    });
    await sqs.send(new SendMessageCommand(input));

    const letters: DeadLetter[] = [];
    const takeLetters = async () => {
      for (const m of await takeMatching(sqs, output("OrdersDeadLetterQueueUrl"), (m) =>
        (m.Body ?? "").includes(orderId),
      )) {
        letters.push({ message: m, metadata: parseDeadLetterMetadata(m.MessageAttributes) });
      }
    };
    // The first outcome: a dead letter, or the event applied.
    await waitFor(
      async () => {
        await takeLetters();
        return letters.length > 0 || (await appliedSeqs(orderId)).length > 0;
      },
      { what: "an outcome for the event", timeoutMs: 120_000, intervalMs: 500 },
    );
    // The step's held commit runs by the function's timeout (5 s): wait it out, then look again.
    await new Promise((r) => setTimeout(r, 8_000));
    await takeLetters();
    const applied = await appliedSeqs(orderId);

    expect(letters.length + applied.length, "one outcome: a dead letter or the effect").toBe(1);
    if (letters.length === 1) {
      expect(letters[0]?.metadata).toMatchObject({
        reason: "retries-exhausted",
        errorCode: "RECORD_DEADLINE",
        attempts: 5,
        messageGroupId: orderId,
      });
    } else {
      expect(applied).toEqual([1]);
    }
  });
});
