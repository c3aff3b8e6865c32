/**
 * Reads a table out of the project's documentation, so a test can hold a documented table and
 * the code it describes to each other (the failure tables, the error-code catalogue).
 */
import { readFileSync } from "node:fs";

const ROOT = new URL("../../", import.meta.url);

/** A file of the project by its path from the root (`docs/guarantees.md`). */
export function readDoc(path: string): string {
  return readFileSync(new URL(path, ROOT), "utf8");
}

/**
 * The body rows (without the header and its rule) of the first table after `anchor` (a heading
 * or any text before it), each as its trimmed cells.
 */
export function tableRows(markdown: string, anchor: string): string[][] {
  const at = markdown.indexOf(anchor);
  if (at < 0) throw new Error(`no "${anchor}" in the document`);
  const lines = markdown.slice(at).split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  const table: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith("|")) break;
    table.push(
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return table.slice(2);
}

/** A catalogue as its documented table has it: `code`, kind, meaning. */
export function catalogueRows(
  catalogue: Readonly<Record<string, { readonly kind: string; readonly meaning: string }>>,
): string[][] {
  return Object.entries(catalogue).map(([code, entry]) => [
    `\`${code}\``,
    entry.kind,
    entry.meaning,
  ]);
}
