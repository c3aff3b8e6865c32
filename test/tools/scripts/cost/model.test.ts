import { describe, expect, it } from "vitest";
import {
  estimate,
  invocationsPerMonth,
  loadPriceBook,
  total,
} from "../../../../tools/scripts/cost/model.js";

const book = loadPriceBook();

/** A template with what the estimator reads: 3 alarms, a sampler over 2 queues, one ESM. */
const template = {
  Resources: {
    A1: { Type: "AWS::CloudWatch::Alarm", Properties: {} },
    A2: { Type: "AWS::CloudWatch::Alarm", Properties: {} },
    Math: {
      Type: "AWS::CloudWatch::Alarm",
      Properties: { Metrics: [{ MetricStat: {} }, { MetricStat: {} }, { Expression: "a+b" }] },
    },
    Board: { Type: "AWS::CloudWatch::Dashboard", Properties: {} },
    Key: { Type: "AWS::KMS::Key", Properties: {} },
    Q1: { Type: "AWS::SQS::Queue", Properties: {} },
    Sampler: { Type: "AWS::Lambda::Function", Properties: { MemorySize: 256 } },
    Consumer: { Type: "AWS::Lambda::Function", Properties: { MemorySize: 512 } },
    Esm: {
      Type: "AWS::Lambda::EventSourceMapping",
      Properties: {
        EventSourceArn: { "Fn::GetAtt": ["Q1", "Arn"] },
        FunctionName: { Ref: "Consumer" },
      },
    },
    Rule: {
      Type: "AWS::Events::Rule",
      Properties: {
        ScheduleExpression: "rate(1 minute)",
        Targets: [
          {
            Arn: { "Fn::GetAtt": ["Sampler", "Arn"] },
            Input: {
              "Fn::Join": [
                "",
                [
                  '{"namespace":"Spool","queues":[{"queueUrl":"',
                  { Ref: "Q1" },
                  '"},{"queueUrl":"x"}]}',
                ],
              ],
            },
          },
        ],
      },
    },
    Table: { Type: "AWS::DynamoDB::Table", DeletionPolicy: "RetainExceptOnCreate", Properties: {} },
  },
};

describe("the cost estimator", () => {
  const report = estimate(template, book);
  const line = (name: string) => report.atRest.find((l) => l.resourceClass.startsWith(name));

  it("prices alarms per alarm metric (a math alarm over two metrics counts two)", () => {
    expect(line("CloudWatch alarms")?.quantity).toBe("3 alarms, 4 alarm metrics");
    expect(line("CloudWatch alarms")?.usd).toBeCloseTo(4 * 0.1);
  });

  it("derives the sampler's metrics and reads from its schedule and the queues it samples", () => {
    expect(line("Custom metrics")?.quantity).toBe("2 queues x 3 metrics");
    // 2 queues x 2 metrics read x 43,800 runs a month.
    expect(line("CloudWatch metric reads")?.quantity).toBe("175,200 metrics read");
    expect(line("CloudWatch metric reads")?.usd).toBeCloseTo(1.752);
  });

  it("counts idle polling by each SQS event source mapping, and sizes the consumer from it", () => {
    expect(line("SQS polling")?.quantity).toBe("1 SQS event source mappings (0 FIFO)");
    expect(report.perMillionMessages.find((l) => l.resourceClass === "Lambda")?.quantity).toContain(
      "512 MB",
    );
  });

  it("lists what a stack delete leaves behind", () => {
    expect(report.leftOnDelete).toEqual([{ logicalId: "Table", type: "AWS::DynamoDB::Table" }]);
    expect(total(report.atRest)).toBeGreaterThan(0);
  });

  it("counts a month of rate() and cron() runs", () => {
    expect(invocationsPerMonth("rate(1 minute)")).toBe(43_800);
    expect(invocationsPerMonth("rate(5 minutes)")).toBe(8_760);
    expect(invocationsPerMonth("cron(0 2 * * ? *)")).toBe(31);
  });
});

describe("the price book", () => {
  it.each(Object.entries(book.prices))(
    "%s has a price, its unit, its source and its date",
    (_k, p) => {
      expect(p.usd).toBeGreaterThan(0);
      expect(p.per.length).toBeGreaterThan(3);
      expect(p.source.length).toBeGreaterThan(10);
      expect(p.sourceDate).toMatch(/\d{4}/);
      expect(["official", "official-unit", "secondary"]).toContain(p.confidence);
    },
  );

  it("holds every price and assumption the estimator uses", () => {
    const used = new Set(
      [...report().atRest, ...report().perMillionMessages, ...report().perMillionEvents].flatMap(
        (l) => l.prices,
      ),
    );
    for (const key of used) expect(Object.keys(book.prices)).toContain(key);
  });
});

const report = () => estimate(template, book);
