import { type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { RunContext } from "../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { putOnce } from "../../lib/spool/runtime/effect-once.js";

export interface ReconcileDeps {
  readonly db: DynamoDBDocumentClient;
  /** The effects table: order projections in, reconciliation reports out. */
  readonly table: string;
  readonly now: () => Date;
  /** Bounds the work of one run; a larger table yields a report marked partial. */
  readonly maxPages?: number;
}

export interface ReconciliationReport {
  readonly orders: number;
  readonly byStatus: Record<string, number>;
  readonly paidAmountCents: number;
  readonly partial: boolean;
}

export function reportKey(runKey: string) {
  return { pk: `reconciliation#${runKey}`, sk: "report" };
}

/**
 * The nightly reconciliation: totals the order projections by status and the amount paid, and
 * files one report per run. The report is written with a conditional put keyed by the run key,
 * so even a run executed twice after a crash files one report (`duplicateExecutions` counts the
 * refused second write; the runs table's claim keeps it at zero in normal operation).
 */
export async function reconcileOrders(
  run: RunContext,
  deps: ReconcileDeps,
): Promise<ReconciliationReport & { readonly filed: boolean }> {
  const byStatus: Record<string, number> = {};
  let orders = 0;
  let paidAmountCents = 0;
  let pages = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await deps.db.send(
      new ScanCommand({
        TableName: deps.table,
        FilterExpression: "begins_with(pk, :order) AND sk = :projection",
        ExpressionAttributeValues: { ":order": "order#", ":projection": "projection" },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      orders++;
      const status = String(item.status);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (status === "PAID" || status === "SHIPPED")
        paidAmountCents += Number(item.amountCents ?? 0);
    }
    startKey = page.LastEvaluatedKey;
    pages++;
  } while (startKey && pages < (deps.maxPages ?? 20));
  const report: ReconciliationReport = { orders, byStatus, paidAmountCents, partial: !!startKey };
  const filed = await putOnce(deps.db, {
    table: deps.table,
    key: reportKey(run.runKey),
    item: {
      job: run.job,
      scheduledTime: run.scheduledTime.toISOString(),
      source: run.source,
      correlationId: run.correlationId,
      filedAt: deps.now().toISOString(),
      ...report,
    },
    duplicateCounter: "duplicateExecutions",
  });
  return { ...report, filed };
}
