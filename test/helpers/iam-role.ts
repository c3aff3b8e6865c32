import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { config, uniqueId } from "./cloud.js";

/** node:crypto in the shape SignatureV4 hashes with (no @aws-crypto package is installed). */
class Sha256 {
  private readonly hash;
  constructor(secret?: unknown) {
    this.hash = secret
      ? createHmac("sha256", Buffer.from(secret as Uint8Array | string))
      : createHash("sha256");
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/**
 * One IAM query-API call, signed as the tests sign (the account). The repository has no IAM client
 * package, and the role below is the only IAM the tests make.
 */
async function iam(params: Record<string, string>): Promise<string> {
  const url = new URL(config.endpoint);
  const body = new URLSearchParams({ ...params, Version: "2010-05-08" }).toString();
  const signer = new SignatureV4({
    service: "iam",
    region: config.region,
    credentials: config.credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: "/",
    query: {},
    headers: {
      host: url.host,
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    },
    body,
  });
  const response = await fetch(`${url.origin}/`, {
    method: "POST",
    headers: signed.headers,
    body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`IAM ${params.Action}: ${response.status} ${text}`);
  return text;
}

/**
 * A role holding what SagaWorkflow.grantTaskResponse grants (states:SendTaskSuccess,
 * SendTaskFailure and SendTaskHeartbeat on the state machine), for a caller no deployed function
 * plays: whoever answers a waiting step. `resource` replaces the state machine's ARN in that
 * statement; a second one, states:DescribeStateMachine on the state machine, shows the policy is
 * in force whatever the first one matches.
 */
export async function taskResponderRole(stateMachineArn: string, resource = stateMachineArn) {
  const RoleName = uniqueId("task-responder");
  const created = await iam({
    Action: "CreateRole",
    RoleName,
    AssumeRolePolicyDocument: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "lambda.amazonaws.com" },
          Action: "sts:AssumeRole",
        },
      ],
    }),
  });
  const roleArn = /<Arn>([^<]+)<\/Arn>/.exec(created)?.[1];
  if (!roleArn) throw new Error(`CreateRole answered no ARN: ${created}`);
  await iam({
    Action: "PutRolePolicy",
    RoleName,
    PolicyName: "task-response",
    PolicyDocument: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
          Resource: resource,
        },
        { Effect: "Allow", Action: "states:DescribeStateMachine", Resource: stateMachineArn },
      ],
    }),
  });
  return {
    roleArn,
    async remove() {
      await iam({ Action: "DeleteRolePolicy", RoleName, PolicyName: "task-response" });
      await iam({ Action: "DeleteRole", RoleName });
    },
  };
}
