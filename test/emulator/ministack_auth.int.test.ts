import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetFunctionConfigurationCommand } from "@aws-sdk/client-lambda";
import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { ChangeMessageVisibilityBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { describe, expect, inject, it } from "vitest";
import { config, lambda, output } from "../helpers/cloud.js";

const auth = inject("emulatorAuth");
if (!auth) process.stderr.write("[skip] IAM enforcement checks: the emulator runs without AUTH\n");

/** Client settings signing as the execution role of a deployed function, as its handler does. */
async function asFunction(outputName: string) {
  const { Role } = await lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: output(outputName) }),
  );
  const { Credentials } = await new STSClient(config).send(
    new AssumeRoleCommand({ RoleArn: Role, RoleSessionName: "auth-check" }),
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
});
