import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { PermanentError } from "../../lib/spool/runtime/errors.js";
import { failingValue, heldGroupKey, heldSwitchKey } from "./contract.js";

/** A test deployment's sequenced message: the `seq`-th of its group in a run. */
export const SequencedMessage = z.object({
  schemaVersion: z.literal(1),
  runId: z.string().min(1),
  group: z.string().min(1),
  seq: z.number().int().min(1),
  correlationId: z.string().optional(),
});
export type SequencedMessage = z.infer<typeof SequencedMessage>;

export interface HeldGroupDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
}

/**
 * Applies a message strictly in sequence: its seq is appended to its group's list only if the
 * group's last applied seq is the one before (seq 1 on an empty group). A message out of order is
 * refused for good (OUT_OF_ORDER), as a sequence-checked projection must; the run's switch fails
 * the chosen one permanently while it is on.
 */
export async function applyInSequence(message: SequencedMessage, deps: HeldGroupDeps) {
  const { Item: fault } = await deps.db.send(
    new GetCommand({
      TableName: deps.table,
      Key: heldSwitchKey(message.runId),
      ConsistentRead: true,
    }),
  );
  if (fault?.failing === failingValue(message.group, message.seq)) {
    throw new PermanentError("the run's fault switch fails this message", {
      code: "INJECTED_PERMANENT",
    });
  }
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: heldGroupKey(message.runId, message.group),
        UpdateExpression:
          "SET lastSeq = :seq, applied = list_append(if_not_exists(applied, :none), :this)",
        ConditionExpression:
          message.seq === 1 ? "attribute_not_exists(lastSeq)" : "lastSeq = :previous",
        ExpressionAttributeValues: {
          ":seq": message.seq,
          ":none": [],
          ":this": [message.seq],
          ...(message.seq === 1 ? {} : { ":previous": message.seq - 1 }),
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    throw new PermanentError(`seq ${message.seq} of group ${message.group} is out of order`, {
      code: "OUT_OF_ORDER",
    });
  }
}
