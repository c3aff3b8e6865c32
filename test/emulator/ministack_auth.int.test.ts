import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetFunctionConfigurationCommand } from "@aws-sdk/client-lambda";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import {
  DescribeStateMachineCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from "@aws-sdk/client-sfn";
import { ChangeMessageVisibilityBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { describe, expect, inject, it } from "vitest";
import { config, lambda, output, uniqueId } from "../helpers/cloud.js";
import { taskResponderRole } from "../helpers/iam-role.js";

const auth = inject("emulatorAuth");
if (!auth) process.stderr.write("[skip] IAM enforcement checks: the emulator runs without AUTH\n");

/** Client settings signing as the execution role of a deployed function, as its handler does. */
async function asFunction(outputName: string) {
  const { Role } = await lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: output(outputName) }),
  );
  if (!Role) throw new Error(`${outputName} has no role`);
  return asRole(Role);
}

/** Client settings signing as an assumed role. */
async function asRole(RoleArn: string) {
  const { Credentials } = await new STSClient(config).send(
    new AssumeRoleCommand({ RoleArn, RoleSessionName: "auth-check" }),
  );
  if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey) throw new Error("no credentials");
  return {
    ...config,
    credentials: {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretAccessKey,
      sessionToken: Credentials.SessionToken,
    },
  };
}

/** The error name a call fails with, or "ok". */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return (error as Error).name;
  }
}

// What MiniStack's AUTH=true checks for a function's role, with the launcher's corrections
// (emulator/ministack_auth.py): each case has a call the role is granted and one it is not, so the
// file fails if enforcement were off or a correction stopped working.
describe.skipIf(!auth)("MiniStack IAM enforcement (SPOOL_EMULATOR_AUTH=1)", () => {
  it("scopes a schedule call to the group it names: granted in the tasks group, refused elsewhere", async () => {
    const scheduler = new SchedulerClient(await asFunction("OrderEventsFunctionName"));
    const get = (GroupName: string) =>
      outcome(scheduler.send(new GetScheduleCommand({ Name: "no-such-task", GroupName })));
    expect(await get(output("TasksScheduleGroupName"))).toBe("ResourceNotFoundException");
    expect(await get("default")).toBe("AccessDeniedException");
  });

  it("checks an SQS batch call as its single-message action, on the queue the role may use", async () => {
    const sqs = new SQSClient(await asFunction("NotificationsFunctionName"));
    const batch = (QueueUrl: string) =>
      outcome(
        sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl,
            Entries: [{ Id: "1", ReceiptHandle: "not-a-handle", VisibilityTimeout: 1 }],
          }),
        ),
      );
    // A bad receipt handle is reported per entry: the call itself is allowed.
    expect(await batch(output("NotificationsQueueUrl"))).toBe("ok");
    expect(await batch(output("OrdersQueueUrl"))).toMatch(/AccessDenied/);
  });

  it("holds the queue sampler's PutMetricData to its namespace", async () => {
    const cloudwatch = new CloudWatchClient(await asFunction("QueueSamplerFunctionName"));
    const put = (Namespace: string) =>
      outcome(
        cloudwatch.send(
          new PutMetricDataCommand({
            Namespace,
            MetricData: [{ MetricName: "AuthCheck", Value: 1, Unit: "Count" }],
          }),
        ),
      );
    expect(await put("Spool")).toBe("ok");
    expect(await put("Elsewhere")).toMatch(/AccessDenied/);
  });

  it("holds a claim-check consumer to reading its payload store", async () => {
    // The analytics subscription resolves pointers from the events' store (grantRead: GetObject,
    // and ListBucket so that a missing object reads NoSuchKey); the large-payloads store is not its.
    const s3 = new S3Client({
      ...(await asFunction("AnalyticsFunctionName")),
      forcePathStyle: true,
    });
    const get = (Bucket: string) =>
      outcome(s3.send(new GetObjectCommand({ Bucket, Key: "sha256/auth-check-missing" })));
    expect(await get(output("EventPayloadsBucketName"))).toBe("NoSuchKey");
    expect(await get(output("LargePayloadsBucketName"))).toMatch(/AccessDenied/);
  });

  it("holds a claim-check producer to writing bodies under sha256/ in its payload store", async () => {
    // The outbox publisher offloads large events (grantWrite: PutObject on sha256/* only).
    const s3 = new S3Client({
      ...(await asFunction("OutboxPublisherFunctionName")),
      forcePathStyle: true,
    });
    const Key = `sha256/${uniqueId("auth-check")}`;
    const put = (Bucket: string, key = Key) =>
      outcome(s3.send(new PutObjectCommand({ Bucket, Key: key, Body: "{}" })));
    try {
      expect(await put(output("EventPayloadsBucketName"))).toBe("ok");
      expect(await put(output("EventPayloadsBucketName"), "elsewhere/auth-check")).toMatch(
        /AccessDenied/,
      );
      expect(await put(output("LargePayloadsBucketName"))).toMatch(/AccessDenied/);
      // A producer is not a reader.
      expect(
        await outcome(
          s3.send(new GetObjectCommand({ Bucket: output("EventPayloadsBucketName"), Key })),
        ),
      ).toMatch(/AccessDenied/);
    } finally {
      await new S3Client({ ...config, forcePathStyle: true }).send(
        new DeleteObjectCommand({ Bucket: output("EventPayloadsBucketName"), Key }),
      );
    }
  });

  it("checks Step Functions callback answers, but against no state machine", async () => {
    // No deployed function answers a callback step (the spool CLI does, as the account), so the
    // granted side is a role made here with grantTaskResponse's statement.
    const stateMachineArn = output("ApprovalStateMachineArn");
    const answer = async (settings: Awaited<ReturnType<typeof asRole>>) => {
      const sfn = new SFNClient(settings);
      const taskToken = "not-a-token";
      return [
        await outcome(sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))),
        await outcome(sfn.send(new SendTaskSuccessCommand({ taskToken, output: "{}" }))),
        await outcome(sfn.send(new SendTaskFailureCommand({ taskToken, error: "AuthCheck" }))),
        await outcome(sfn.send(new SendTaskHeartbeatCommand({ taskToken }))),
      ];
    };
    const asResponder = async (resource: string) => {
      const responder = await taskResponderRole(stateMachineArn, resource);
      try {
        return await answer(await asRole(responder.roleArn));
      } finally {
        await responder.remove();
      }
    };
    const denied = "AccessDeniedException";
    expect(await answer(await asFunction("ApprovalStepsFunctionName"))).toEqual([
      denied,
      denied,
      denied,
      denied,
    ]);
    // MiniStack resolves SendTask* to the resource "*" (the request names only the token), so the
    // grant on the state machine's ARN, the scope AWS checks, never matches: refused, while the
    // same role may describe the state machine. On AWS these calls pass and fail on the token.
    const scoped = await asResponder(stateMachineArn);
    process.stderr.write(`[auth] grantTaskResponse's statement: ${scoped.join(", ")}\n`);
    expect(scoped).toEqual(["ok", denied, denied, denied]);
    // Granted on "*", the calls pass the evaluator and fail on the token.
    const anywhere = await asResponder("*");
    process.stderr.write(`[auth] the same actions on "*": ${anywhere.join(", ")}\n`);
    const gone = "TaskDoesNotExist";
    expect(anywhere).toEqual(["ok", gone, gone, gone]);
  });
});
