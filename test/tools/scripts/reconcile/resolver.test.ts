import { describe, expect, it, vi } from "vitest";
import { pseudoParameters, Resolver } from "../../../../tools/scripts/reconcile/resolver.js";

const physicalIds = new Map([
  ["OrdersQueue", "http://127.0.0.1:4571/000000000000/orders"],
  ["OrdersTable", "orders"],
]);

function resolver() {
  const attributes = vi.fn(async (logicalId: string, attribute: string) =>
    logicalId === "OrdersTable" && attribute === "Arn"
      ? "arn:aws:dynamodb:us-east-1:000000000000:table/orders"
      : undefined,
  );
  return {
    attributes,
    resolver: new Resolver(physicalIds, attributes, pseudoParameters("us-east-1", "Spool")),
  };
}

describe("Resolver", () => {
  it("resolves Ref to the physical id and pseudo parameters to the local account", async () => {
    const { resolver: r } = resolver();
    expect(await r.resolve({ Ref: "OrdersTable" })).toBe("orders");
    expect(await r.resolve({ Ref: "AWS::AccountId" })).toBe("000000000000");
    expect(await r.resolve({ Ref: "AWS::StackName" })).toBe("Spool");
    expect(await r.resolve({ Ref: "NotDeployed" })).toBeUndefined();
  });

  it("reads Fn::GetAtt in both its array and its dotted form", async () => {
    const { resolver: r, attributes } = resolver();
    const arn = "arn:aws:dynamodb:us-east-1:000000000000:table/orders";
    expect(await r.resolve({ "Fn::GetAtt": ["OrdersTable", "Arn"] })).toBe(arn);
    expect(await r.resolve({ "Fn::GetAtt": "OrdersTable.Arn" })).toBe(arn);
    expect(attributes).toHaveBeenCalledWith("OrdersTable", "Arn");
  });

  it("joins resolved parts and resolves inside nested objects and arrays", async () => {
    const { resolver: r } = resolver();
    expect(
      await r.resolve({
        RedrivePolicy: {
          deadLetterTargetArn: {
            "Fn::Join": [":", ["arn:aws:sqs", { Ref: "AWS::Region" }, "dlq"]],
          },
          maxReceiveCount: 5,
        },
        Targets: [{ Id: "T1", Arn: { Ref: "OrdersQueue" } }],
      }),
    ).toEqual({
      RedrivePolicy: { deadLetterTargetArn: "arn:aws:sqs:us-east-1:dlq", maxReceiveCount: 5 },
      Targets: [{ Id: "T1", Arn: "http://127.0.0.1:4571/000000000000/orders" }],
    });
  });

  it("keeps an object with one ordinary key as an object", async () => {
    const { resolver: r } = resolver();
    expect(await r.resolve({ Enabled: true })).toEqual({ Enabled: true });
  });

  it("knows the physical id of a deployed resource only", () => {
    const { resolver: r } = resolver();
    expect(r.physicalId("OrdersTable")).toBe("orders");
    expect(r.physicalId("NotDeployed")).toBeUndefined();
  });
});
