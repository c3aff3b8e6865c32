import { describe, expect, it } from "vitest";
import { assertTenantId, tenantOf } from "../../../../lib/spool/runtime/tenant.js";

const attribute = (value: string) => ({
  messageAttributes: { "tenant-id": { stringValue: value } },
});

describe("tenantOf", () => {
  it("reads the attribute first, then the envelope's tenantId, bare or in an EventBridge detail", () => {
    expect(tenantOf(attribute("a"), { tenantId: "b" })).toBe("a");
    expect(tenantOf({}, { tenantId: "b" })).toBe("b");
    expect(tenantOf({ messageAttributes: {} }, { detail: { tenantId: "c" } })).toBe("c");
  });

  it("finds no tenant in a record without one, or with a malformed one", () => {
    expect(tenantOf({}, undefined)).toBeUndefined();
    expect(tenantOf({}, { id: 1 })).toBeUndefined();
    expect(tenantOf({}, ["tenantId"])).toBeUndefined();
    expect(tenantOf(attribute("no spaces please"), { tenantId: 7 })).toBeUndefined();
  });
});

describe("assertTenantId", () => {
  it("returns a good id and names the field it checks in the error", () => {
    expect(assertTenantId("t-1:eu.2_x")).toBe("t-1:eu.2_x");
    expect(() => assertTenantId(null, "event.tenantId")).toThrow(
      "event.tenantId must be 1-128 letters, digits or . _ : - (it is sent as the MessageGroupId), got null",
    );
  });
});
