import {
  CloudFormationClient,
  DescribeStacksCommand,
  type StackStatus,
} from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { bootstrapNeeded, cliBootstrapVersion } from "../../../../tools/scripts/lib/bootstrap.js";

const cfn = new CloudFormationClient({ region: "us-east-1" });
const mock = mockClient(cfn);

function toolkit(StackStatus: StackStatus, version?: string) {
  return {
    Stacks: [
      {
        StackName: "CDKToolkit",
        StackStatus,
        CreationTime: new Date(),
        Outputs:
          version === undefined ? [] : [{ OutputKey: "BootstrapVersion", OutputValue: version }],
      },
    ],
  };
}

describe("bootstrapNeeded", () => {
  beforeEach(() => mock.reset());

  it("asks for a bootstrap when the emulator has no toolkit stack (a reset or restarted emulator)", async () => {
    mock.on(DescribeStacksCommand).rejects(new Error("Stack with id CDKToolkit does not exist"));
    expect(await bootstrapNeeded(cfn, 33)).toBe("no CDKToolkit stack");
  });

  it("asks for one when the toolkit stack failed or is older than the CLI's", async () => {
    mock.on(DescribeStacksCommand).resolves(toolkit("ROLLBACK_COMPLETE", "33"));
    expect(await bootstrapNeeded(cfn, 33)).toBe("CDKToolkit is ROLLBACK_COMPLETE");
    mock.on(DescribeStacksCommand).resolves(toolkit("CREATE_COMPLETE", "20"));
    expect(await bootstrapNeeded(cfn, 33)).toBe("CDKToolkit is version 20, the CLI deploys 33");
    mock.on(DescribeStacksCommand).resolves(toolkit("CREATE_COMPLETE"));
    expect(await bootstrapNeeded(cfn, 33)).toMatch(/no BootstrapVersion output/);
  });

  it("skips it when a usable toolkit stack of the CLI's version or newer is there", async () => {
    mock.on(DescribeStacksCommand).resolves(toolkit("UPDATE_COMPLETE", "33"));
    expect(await bootstrapNeeded(cfn, 33)).toBeUndefined();
  });

  it("lets other errors through (an unreachable emulator is not a missing bootstrap)", async () => {
    mock.on(DescribeStacksCommand).rejects(new Error("connect ECONNREFUSED 127.0.0.1:4566"));
    await expect(bootstrapNeeded(cfn, 33)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("reads the version the installed CDK CLI deploys", () => {
    expect(cliBootstrapVersion()).toBeGreaterThanOrEqual(6);
  });
});
