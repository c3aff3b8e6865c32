/**
 * What the reference stack (or any template) costs on AWS: at rest and per million messages, by
 * resource class, from the template and the published prices in tools/scripts/cost/prices.json.
 *
 *   npm run cost                          # the reference stack as `cdk deploy` would create it
 *   npm run cost -- --template <path>     # any synthesized template, e.g. cdk.out/Spool.template.json
 *   npm run cost -- --json
 */
import { readFileSync } from "node:fs";
import { type CostLine, estimate, loadPriceBook, total } from "./cost/model.js";
import { awsTemplate } from "./lib/aws-template.js";

function table(title: string, lines: readonly CostLine[]): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const width = Math.max(...lines.map((l) => l.resourceClass.length), 14);
  const qty = Math.max(...lines.map((l) => l.quantity.length), 8);
  return [
    title,
    ...lines.map(
      (l) =>
        `  ${l.resourceClass.padEnd(width)}  ${l.quantity.padEnd(qty)}  ${usd(l.usd).padStart(8)}`,
    ),
    `  ${"total".padEnd(width)}  ${"".padEnd(qty)}  ${usd(total(lines)).padStart(8)}`,
  ].join("\n");
}

const args = process.argv.slice(2);
const templateAt = args.indexOf("--template");
const template =
  templateAt >= 0 ? JSON.parse(readFileSync(args[templateAt + 1] ?? "", "utf8")) : awsTemplate();
const book = loadPriceBook();
const report = estimate(template, book);
if (args.includes("--json")) {
  console.log(
    JSON.stringify({ region: book.region, pricesCollected: book.collected, ...report }, null, 2),
  );
} else {
  console.log(
    [
      `Monthly cost on AWS (${book.region} list prices collected ${book.collected}, before free tiers; sources in tools/scripts/cost/prices.json)`,
      "",
      table("At rest (a month with no traffic):", report.atRest),
      "",
      table(
        "Per million messages through one queue consumer with idempotency:",
        report.perMillionMessages,
      ),
      "",
      table("Per million events through the outbox:", report.perMillionEvents),
      "",
      "What lowers it:",
      ...[
        ...new Set(
          report.atRest.flatMap((l) => (l.knob ? [`  ${l.resourceClass}: ${l.knob}`] : [])),
        ),
      ],
      "",
      `Left behind by cdk destroy (kept on delete): ${report.leftOnDelete.map((r) => `${r.logicalId} (${r.type})`).join(", ") || "nothing"}`,
    ].join("\n"),
  );
}
