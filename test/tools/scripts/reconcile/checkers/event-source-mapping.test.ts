import {
  GetEventSourceMappingCommand,
  LambdaClient,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { localClientConfig } from "../../../../../tools/scripts/lib/local-cloud.js";
import { eventSourceMapping } from "../../../../../tools/scripts/reconcile/checkers/event-source-mapping.js";
import { compareAndFix } from "../../../../../tools/scripts/reconcile/compare.js";
import { checkFor } from "../../../../helpers/reconcile.js";

const lambda = mockClient(LambdaClient);
const checksOf = eventSourceMapping.connect(
  localClientConfig({ AWS_ENDPOINT_URL: "http://127.0.0.1:4571" }),
);

afterEach(() => lambda.reset());

describe("event source mapping checker: Enabled", () => {
  it("leaves a mapping an operator paused alone: declared enabled, found disabled is no drift", async () => {
    lambda.on(GetEventSourceMappingCommand).resolves({ State: "Disabled" });
    const check = checkFor(checksOf("uuid-1", {}), "Enabled");
    expect(await compareAndFix(check)).toBeUndefined();
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand)).toHaveLength(0);
  });

  it("disables a mapping declared disabled that the emulator left running", async () => {
    lambda
      .on(GetEventSourceMappingCommand)
      .resolvesOnce({ State: "Enabled" })
      .resolves({ State: "Disabled" });
    lambda.on(UpdateEventSourceMappingCommand).resolves({});
    const check = checkFor(checksOf("uuid-1", { Enabled: false }), "Enabled");
    expect(await compareAndFix(check)).toMatchObject({ action: "fixed", property: "Enabled" });
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand)[0]?.args[0].input).toEqual({
      UUID: "uuid-1",
      Enabled: false,
    });
  });
});
