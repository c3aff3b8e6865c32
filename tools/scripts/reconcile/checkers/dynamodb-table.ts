/**
 * DynamoDB tables: MiniStack's CloudFormation drops TTL and point-in-time recovery, which
 * UpdateTimeToLive and UpdateContinuousBackups restore; streams and billing mode are checked too.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import type { Check, Props, ResourceChecker } from "../check.js";

function dynamoChecks(ddb: DynamoDBClient, tableName: string, props: Props): Check[] {
  const checks: Check[] = [];
  const ttl = props.TimeToLiveSpecification as
    | { AttributeName?: string; Enabled?: boolean }
    | undefined;
  if (ttl) {
    checks.push({
      property: "TimeToLiveSpecification",
      declared: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled ?? false },
      observe: async () => {
        const r = await ddb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
        const d = r.TimeToLiveDescription;
        const enabled = d?.TimeToLiveStatus === "ENABLED" || d?.TimeToLiveStatus === "ENABLING";
        return { AttributeName: enabled ? d?.AttributeName : undefined, Enabled: enabled };
      },
      fix: () =>
        ddb.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: {
              AttributeName: ttl.AttributeName,
              Enabled: ttl.Enabled ?? false,
            },
          }),
        ),
    });
  }
  const stream = props.StreamSpecification as { StreamViewType?: string } | undefined;
  if (stream) {
    checks.push({
      property: "StreamSpecification",
      declared: { StreamEnabled: true, StreamViewType: stream.StreamViewType },
      observe: async () => {
        const spec = (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table
          ?.StreamSpecification;
        return {
          StreamEnabled: spec?.StreamEnabled ?? false,
          StreamViewType: spec?.StreamViewType,
        };
      },
      fix: () =>
        ddb.send(
          new UpdateTableCommand({
            TableName: tableName,
            StreamSpecification: {
              StreamEnabled: true,
              StreamViewType: stream.StreamViewType as "NEW_AND_OLD_IMAGES",
            },
          }),
        ),
    });
  }
  const pitr = props.PointInTimeRecoverySpecification as
    | { PointInTimeRecoveryEnabled?: boolean }
    | undefined;
  if (pitr) {
    const enabled = pitr.PointInTimeRecoveryEnabled ?? false;
    checks.push({
      property: "PointInTimeRecoverySpecification",
      declared: enabled,
      observe: async () => {
        const r = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
        return (
          r.ContinuousBackupsDescription?.PointInTimeRecoveryDescription
            ?.PointInTimeRecoveryStatus === "ENABLED"
        );
      },
      fix: () =>
        ddb.send(
          new UpdateContinuousBackupsCommand({
            TableName: tableName,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: enabled },
          }),
        ),
    });
  }
  if (props.BillingMode !== undefined) {
    checks.push({
      property: "BillingMode",
      declared: props.BillingMode,
      observe: async () =>
        (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table
          ?.BillingModeSummary?.BillingMode ?? "PROVISIONED",
    });
  }
  return checks;
}

export const dynamodbTable: ResourceChecker = {
  type: "AWS::DynamoDB::Table",
  connect: (config) => {
    const ddb = new DynamoDBClient(config);
    return (tableName, props) => dynamoChecks(ddb, tableName, props);
  },
};
