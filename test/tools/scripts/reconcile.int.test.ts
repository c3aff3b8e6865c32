import { join } from "node:path";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { STACK_NAME } from "../../../tools/scripts/lib/local-cloud.js";
import { reconcile } from "../../../tools/scripts/reconcile.js";
import { output, sqs, tableRecovery } from "../../helpers/cloud.js";

// The global setup deployed through deploy-local, which ran the reconciler once already.
describe("drift reconciler", () => {
  it("leaves no drift behind: a second pass finds every declared property in place", async () => {
    const report = await reconcile({
      templatePath: join("cdk.out", `${STACK_NAME}.template.json`),
      dryRun: true,
    });
    expect(report.gaps.filter((g) => g.action !== "not-fixable" || g.note === "dry run")).toEqual(
      [],
    );
  });

  it("has TTL and point-in-time recovery on the idempotency table", async () => {
    const TableName = output("IdempotencyTableName");
    const { ttl, pitr } = await tableRecovery(TableName);
    expect(ttl).toMatchObject({ AttributeName: "expiration", TimeToLiveStatus: "ENABLED" });
    expect(pitr).toBe("ENABLED");
  });

  it("gives every queue a redrive policy to its own dead-letter queue of the same kind", async () => {
    for (const name of ["Orders", "Notifications"]) {
      const queue = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: output(`${name}QueueUrl`),
          AttributeNames: ["All"],
        }),
      );
      const dlq = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: output(`${name}DeadLetterQueueUrl`),
          AttributeNames: ["All"],
        }),
      );
      const redrive = JSON.parse(queue.Attributes?.RedrivePolicy ?? "{}");
      expect(redrive).toEqual({
        deadLetterTargetArn: dlq.Attributes?.QueueArn,
        maxReceiveCount: 5,
      });
      expect(dlq.Attributes?.FifoQueue ?? "false").toBe(queue.Attributes?.FifoQueue ?? "false");
      expect(Number(dlq.Attributes?.MessageRetentionPeriod)).toBeGreaterThan(
        Number(queue.Attributes?.MessageRetentionPeriod),
      );
    }
  });
});
