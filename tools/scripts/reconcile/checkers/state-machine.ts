import {
  DescribeStateMachineCommand,
  type LogLevel,
  SFNClient,
  UpdateStateMachineCommand,
} from "@aws-sdk/client-sfn";
import type { Check, Props, ResourceChecker } from "../check.js";

interface DeclaredLogging {
  readonly Level?: string;
  readonly IncludeExecutionData?: boolean;
  readonly Destinations?: { CloudWatchLogsLogGroup?: { LogGroupArn?: string } }[];
}

/**
 * MiniStack's CloudFormation keeps a state machine's LoggingConfiguration in the template's
 * PascalCase, which DescribeStateMachine then returns as is, so every SDK reads it as empty;
 * UpdateStateMachine stores the API's shape. TracingConfiguration it drops altogether.
 */
function stateMachineChecks(sfn: SFNClient, stateMachineArn: string, props: Props): Check[] {
  const read = () => sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
  const checks: Check[] = [];
  const logging = props.LoggingConfiguration as DeclaredLogging | undefined;
  if (logging) {
    const declared = {
      Level: logging.Level ?? "OFF",
      IncludeExecutionData: logging.IncludeExecutionData ?? false,
      LogGroupArns: (logging.Destinations ?? []).map((d) => d.CloudWatchLogsLogGroup?.LogGroupArn),
    };
    checks.push({
      property: "LoggingConfiguration",
      declared,
      observe: async () => {
        const observed = (await read()).loggingConfiguration;
        return {
          Level: observed?.level,
          IncludeExecutionData: observed?.includeExecutionData,
          LogGroupArns: (observed?.destinations ?? []).map(
            (d) => d.cloudWatchLogsLogGroup?.logGroupArn,
          ),
        };
      },
      fix: () =>
        sfn.send(
          new UpdateStateMachineCommand({
            stateMachineArn,
            loggingConfiguration: {
              level: declared.Level as LogLevel,
              includeExecutionData: declared.IncludeExecutionData,
              destinations: declared.LogGroupArns.map((logGroupArn) => ({
                cloudWatchLogsLogGroup: { logGroupArn },
              })),
            },
          }),
        ),
    });
  }
  const tracing = props.TracingConfiguration as { Enabled?: boolean } | undefined;
  if (tracing) {
    checks.push({
      property: "TracingConfiguration",
      declared: tracing.Enabled ?? false,
      observe: async () => (await read()).tracingConfiguration?.enabled ?? false,
      unfixable: "the emulator keeps no tracing configuration (nothing to trace to)",
    });
  }
  return checks;
}

export const stateMachine: ResourceChecker = {
  type: "AWS::StepFunctions::StateMachine",
  connect: (config) => {
    const sfn = new SFNClient(config);
    return (stateMachineArn, props) => stateMachineChecks(sfn, stateMachineArn, props);
  },
};
