/** The reconciler's report: what it found, and the text printed after every local deploy. */

export type GapAction = "fixed" | "not-fixable" | "fix-failed";

export interface Gap {
  readonly logicalId: string;
  readonly type: string;
  readonly property: string;
  readonly declared: unknown;
  readonly observed: unknown;
  readonly action: GapAction;
  readonly note?: string;
}

export interface ReconcileReport {
  readonly stack: string;
  readonly checked: number;
  readonly gaps: Gap[];
  /** Resource types in the template this reconciler does not inspect. */
  readonly notInspected: Record<string, number>;
}

/** A value on one report line: long policies and ARNs are cut so each gap stays one line. */
function short(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === undefined ? "(absent)" : text.length > 70 ? `${text.slice(0, 67)}...` : text;
}

export function formatReport(report: ReconcileReport): string {
  const counts = { fixed: 0, "not-fixable": 0, "fix-failed": 0 };
  for (const g of report.gaps) counts[g.action]++;
  const lines = [
    `[reconcile] ${report.stack}: ${report.checked} declared properties checked; ${report.gaps.length} gaps ` +
      `(${counts.fixed} fixed, ${counts["not-fixable"]} not fixable, ${counts["fix-failed"]} fix failed)`,
  ];
  for (const g of report.gaps) {
    lines.push(
      `  ${g.action.padEnd(11)} ${g.logicalId} ${g.property}: declared ${short(g.declared)}, emulator had ${short(g.observed)}${g.note ? ` (${g.note})` : ""}`,
    );
  }
  const skipped = Object.entries(report.notInspected)
    .map(([type, n]) => `${type} x${n}`)
    .join(", ");
  if (skipped) lines.push(`  not inspected: ${skipped}`);
  return lines.join("\n");
}
