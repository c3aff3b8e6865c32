/**
 * The cost and size figures the README and docs/operations.md quote are what `npm run cost`
 * computes today: a change that adds alarms, queues or functions (or a price update) fails here
 * until the docs say the new figures.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { estimate, loadPriceBook, total } from "../../../../tools/scripts/cost/model.js";
import { ROOT } from "../../../../tools/scripts/emulator.js";
import { awsTemplate } from "../../../../tools/scripts/lib/aws-template.js";

const template = awsTemplate() as { Resources: Record<string, { Type: string }> };
const report = estimate(template as never, loadPriceBook());
const usd = (n: number) => n.toFixed(2);
const count = (type: string) =>
  Object.values(template.Resources).filter((r) => r.Type === type).length;
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

describe("the cost figures the docs quote", () => {
  const operations = read("docs/operations.md");

  it("docs/operations.md has today's totals: at rest, per million messages, per million events", () => {
    expect(operations).toMatch(
      new RegExp(`\\| At rest \\(.*\\|\\s*${usd(total(report.atRest))} \\|`),
    );
    expect(operations).toMatch(
      new RegExp(
        `\\| Per million messages .*\\|\\s*${usd(total(report.perMillionMessages))}\\s*\\|`,
      ),
    );
    expect(operations).toMatch(
      new RegExp(`\\| Per million events .*\\|\\s*${usd(total(report.perMillionEvents))}\\s*\\|`),
    );
    const alarms = report.atRest.find((l) => l.resourceClass === "CloudWatch alarms");
    expect(operations).toContain(`alarms $${usd(alarms?.usd ?? Number.NaN)}`);
  });

  it("docs/operations.md counts what the template holds", () => {
    expect(operations).toContain(`${count("AWS::SQS::Queue")} SQS queues`);
    expect(operations).toContain(`${count("AWS::Lambda::Function")} Lambda functions`);
    expect(operations).toContain(`${count("AWS::DynamoDB::Table")} DynamoDB tables`);
    expect(operations).toContain(`${count("AWS::CloudWatch::Alarm")} CloudWatch alarms`);
  });

  it("the README's at-rest figure is the same", () => {
    expect(read("README.md")).toContain(`$${usd(total(report.atRest))} a month at rest`);
  });
});
