/**
 * Writes the "Copy it" section of every construct README from the code: what `spool add` copies
 * (the construct's closure) and the npm dependencies that code imports.
 *
 *   npm run catalog          # rewrite the sections
 *   npm run catalog -- --check   # exit 1 if any is out of date (the unit tests check it too)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Closure, closureOf, LIBRARY_DIR, readCatalog } from "../cli/lib/closure.js";

const HEADING = "## Copy it";

export function copySection(closure: Closure): string {
  const catalog = readCatalog();
  const entry = catalog.constructs[closure.construct];
  const others = closure.constructs.filter((c) => c !== closure.construct);
  const role = (name: string) =>
    entry?.companions.includes(name) && !entry.dependsOn.includes(name)
      ? "its usage needs it beside it"
      : "it builds on it";
  const folders = [
    `\`${closure.construct}/\``,
    ...others.map((name) => `\`${name}/\` (${role(name)})`),
  ];
  const toolkit = closure.toolkitFiles.map((f) => `\`${f.replace(/^runtime\//, "")}\``);
  const rows = closure.dependencies.map((d) => [
    `\`${d.name}\``,
    d.version,
    d.dev ? `dev: ${d.why ?? ""}` : "",
  ]);
  return [
    HEADING,
    "",
    "<!-- Generated from the code by `npm run catalog`: edit the code or lib/spool/catalog.json, not this section. -->",
    "",
    `\`spool add ${closure.construct}\` (run in your app, as Spool's README shows under "Adopt a construct") copies into \`lib/spool/\` of your app (or \`--dir\`):`,
    "",
    `- ${folders.join(", ")}`,
    toolkit.length
      ? `- from the handler toolkit \`runtime/\`, the ${toolkit.length} modules this code uses: ${toolkit.join(", ")}`
      : "- nothing from the handler toolkit",
    "",
    "and prints the npm dependencies to add (the versions Spool is tested with):",
    "",
    ...markdownTable(["Package", "Version", ""], rows),
    "",
  ].join("\n");
}

/**
 * A Markdown table with its columns padded, as Markdown formatters lay it out: a README
 * formatted after generation then still matches what this writes.
 */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, i) => (cells[i] ?? "").padEnd(w)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/** The README with its "Copy it" section replaced (or added after "## Usage"). */
export function withCopySection(readme: string, section: string): string {
  const start = readme.indexOf(`\n${HEADING}\n`);
  if (start >= 0) {
    const next = readme.indexOf("\n## ", start + HEADING.length + 2);
    return `${readme.slice(0, start + 1)}${section}${next >= 0 ? readme.slice(next) : ""}`;
  }
  const usage = readme.indexOf("\n## Usage\n");
  if (usage < 0) throw new Error('the README has no "## Usage" section to follow');
  const next = readme.indexOf("\n## ", usage + 4);
  if (next < 0) return `${readme.trimEnd()}\n\n${section}`;
  return `${readme.slice(0, next + 1)}${section}\n${readme.slice(next + 1)}`;
}

export function readmePath(construct: string): string {
  return join(LIBRARY_DIR, construct, "README.md");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  for (const construct of Object.keys(readCatalog().constructs)) {
    const path = readmePath(construct);
    const readme = readFileSync(path, "utf8");
    const updated = withCopySection(readme, copySection(closureOf(construct)));
    if (updated === readme) continue;
    stale.push(construct);
    if (!check) writeFileSync(path, updated);
  }
  if (check && stale.length) {
    console.error(`out of date: ${stale.join(", ")} (run npm run catalog)`);
    process.exit(1);
  }
  console.error(stale.length ? `updated: ${stale.join(", ")}` : "every README is up to date");
}
