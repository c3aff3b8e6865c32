/**
 * Drift reconciler for the local emulator.
 *
 * An emulator's CloudFormation may accept a template yet leave parts of it out (MiniStack has
 * dropped SQS redrive policies, DynamoDB TTL and an SNS topic's KMS key). After each local deploy
 * this compares what the synthesized template declares with what the emulator's service APIs
 * report, fixes what those APIs can fix, re-reads to confirm, and reports every gap, fixed or not.
 * It is both our workaround and our conformance report: nothing it finds is hidden.
 *
 * The parts, in reconcile/: the resolver (template → deployed resources), one checker per
 * resource type (registered in checkers/index.ts), the comparison and the report.
 *
 * Emulator only: it refuses any endpoint that is not on this machine.
 */

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { localClientConfig, STACK_NAME } from "./lib/local-cloud.js";
import type { CheckBuilder, Props } from "./reconcile/check.js";
import { checkerFor } from "./reconcile/checkers/index.js";
import { compareAndFix } from "./reconcile/compare.js";
import { formatReport, type Gap, type ReconcileReport } from "./reconcile/report.js";
import { resolverFor, type Template } from "./reconcile/resolver.js";

export type { Gap, GapAction, ReconcileReport } from "./reconcile/report.js";

export interface ReconcileOptions {
  readonly templatePath: string;
  readonly stackName?: string;
  /** Report only; change nothing. */
  readonly dryRun?: boolean;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const config = localClientConfig(); // throws for any non-local endpoint
  const stackName = options.stackName ?? STACK_NAME;
  const template = JSON.parse(readFileSync(options.templatePath, "utf8")) as Template;
  const resolver = await resolverFor(config, template, stackName);
  const connected = new Map<string, CheckBuilder>();

  const gaps: Gap[] = [];
  const notInspected: Record<string, number> = {};
  let checked = 0;

  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const checker = checkerFor(resource.Type);
    if (!checker) {
      notInspected[resource.Type] = (notInspected[resource.Type] ?? 0) + 1;
      continue;
    }
    const id = resolver.physicalId(logicalId);
    if (!id) {
      gaps.push({
        logicalId,
        type: resource.Type,
        property: "(resource)",
        declared: "exists",
        observed: "missing",
        action: "not-fixable",
      });
      continue;
    }
    let checksOf = connected.get(checker.type);
    if (!checksOf) {
      checksOf = checker.connect(config);
      connected.set(checker.type, checksOf);
    }
    const props = (await resolver.resolve(resource.Properties ?? {})) as Props;
    for (const check of checksOf(id, props)) {
      checked++;
      const finding = await compareAndFix(check, options);
      if (finding) gaps.push({ logicalId, type: resource.Type, ...finding });
    }
  }
  return { stack: stackName, checked, gaps, notInspected };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dryRun = process.argv.includes("--dry-run");
  reconcile({ templatePath: resolve("cdk.out", `${STACK_NAME}.template.json`), dryRun })
    .then((report) => console.log(formatReport(report)))
    .catch((error) => {
      console.error(`reconcile: ${(error as Error).message}`);
      process.exit(1);
    });
}
