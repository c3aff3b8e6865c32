import { describe, expect, it } from "vitest";
import { TemplateModel } from "../../../../tools/scripts/access-proof/template-model.js";

const model = new TemplateModel(
  {
    Resources: {
      Jobs: { Type: "AWS::SQS::Queue", Properties: { FifoQueue: true } },
      Named: { Type: "AWS::SQS::Queue", Properties: { QueueName: "spool-named" } },
      Outbox: { Type: "AWS::DynamoDB::Table", Properties: {} },
      Bus: { Type: "AWS::Events::EventBus", Properties: { Name: "orders" } },
      OnBus: { Type: "AWS::Events::Rule", Properties: { EventBusName: { Ref: "Bus" } } },
      Machine: { Type: "AWS::StepFunctions::StateMachine", Properties: {} },
    },
  },
  "123456789012",
  "eu-west-1",
);

describe("TemplateModel", () => {
  it("gives resources the names and ARNs AWS would: FIFO suffix, given names, rules on a bus", () => {
    expect(model.arnOf("Jobs")).toBe("arn:aws:sqs:eu-west-1:123456789012:Jobs.fifo");
    expect(model.refOf("Named")).toBe(
      "https://sqs.eu-west-1.amazonaws.com/123456789012/spool-named",
    );
    expect(model.arnOf("OnBus")).toBe("arn:aws:events:eu-west-1:123456789012:rule/orders/OnBus");
  });

  it("resolves Ref, GetAtt, Join, Select and Split as CloudFormation does", () => {
    const executions = {
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          ":states:eu-west-1:123456789012:execution:",
          { "Fn::Select": [6, { "Fn::Split": [":", { Ref: "Machine" }] }] },
          ":*",
        ],
      ],
    };
    expect(model.resolve(executions)).toBe(
      "arn:aws:states:eu-west-1:123456789012:execution:Machine:*",
    );
    expect(model.resolve({ "Fn::GetAtt": ["Outbox", "StreamArn"] })).toMatch(
      /^arn:aws:dynamodb:eu-west-1:123456789012:table\/Outbox\/stream\//,
    );
  });

  it("finds a resource from its ARN, its URL or its name, and the ids a value refers to", () => {
    expect(model.idOf("arn:aws:sqs:eu-west-1:123456789012:Jobs.fifo")).toBe("Jobs");
    expect(model.idOf(model.refOf("Named"))).toBe("Named");
    expect(model.idOf("orders")).toBe("Bus");
    expect(model.idOf("arn:aws:sqs:eu-west-1:123456789012:unknown")).toBeUndefined();
    expect(model.references({ a: [{ Ref: "Jobs" }, { "Fn::GetAtt": ["Outbox", "Arn"] }] })).toEqual(
      ["Jobs", "Outbox"],
    );
  });
});
