/**
 * Whether the emulator needs `cdk bootstrap`, read from what the emulator holds rather than from
 * a file of ours: an emulator restarted with its state gone (a user's LocalStack, a MiniStack
 * reset) has no bootstrap stack, whoever started it and whatever we wrote down before.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type Stack,
} from "@aws-sdk/client-cloudformation";
import { ROOT } from "../emulator.js";

export const TOOLKIT_STACK = "CDKToolkit";

/** States in which the bootstrap stack holds its resources and can be used or updated. */
const USABLE = new Set(["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"]);

/** The bootstrap version the installed CDK CLI deploys (its template's CdkBootstrapVersion). */
export function cliBootstrapVersion(): number {
  const template = readFileSync(
    join(ROOT, "node_modules", "aws-cdk", "lib", "api", "bootstrap", "bootstrap-template.yaml"),
    "utf8",
  );
  const match = /CdkBootstrapVersion:[\s\S]*?Value: '(\d+)'/.exec(template);
  if (!match?.[1]) throw new Error("cannot read CdkBootstrapVersion from the CDK CLI's template");
  return Number(match[1]);
}

/** Why the emulator needs bootstrapping, or undefined when its bootstrap stack is usable. */
export async function bootstrapNeeded(
  cfn: CloudFormationClient,
  wantVersion: number,
): Promise<string | undefined> {
  let found: Stack | undefined;
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: TOOLKIT_STACK }));
    found = Stacks?.[0];
  } catch (error) {
    if (/does not exist/i.test((error as Error).message)) return `no ${TOOLKIT_STACK} stack`;
    throw error;
  }
  if (!found) return `no ${TOOLKIT_STACK} stack`;
  if (!USABLE.has(found.StackStatus ?? "")) {
    return `${TOOLKIT_STACK} is ${found.StackStatus ?? "in an unknown state"}`;
  }
  const version = Number(
    found.Outputs?.find((o) => o.OutputKey === "BootstrapVersion")?.OutputValue,
  );
  if (!Number.isFinite(version)) return `${TOOLKIT_STACK} has no BootstrapVersion output`;
  if (version < wantVersion)
    return `${TOOLKIT_STACK} is version ${version}, the CLI deploys ${wantVersion}`;
  return undefined;
}
