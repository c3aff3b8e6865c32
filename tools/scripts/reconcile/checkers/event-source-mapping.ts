/** Lambda event source mappings: batching, concurrency, stream failure handling, state. */
import {
  GetEventSourceMappingCommand,
  type GetEventSourceMappingCommandOutput,
  LambdaClient,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import type { Check, Props, ResourceChecker } from "../check.js";

function eventSourceMappingChecks(lambda: LambdaClient, uuid: string, props: Props): Check[] {
  const read = () => lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
  const field = <T>(
    property: string,
    declared: unknown,
    pick: (m: GetEventSourceMappingCommandOutput) => T,
    update: Record<string, unknown>,
  ): Check => ({
    property,
    declared,
    observe: async () => pick(await read()),
    fix: () => lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, ...update })),
  });
  const checks: Check[] = [];
  if (props.BatchSize !== undefined) {
    checks.push(
      field("BatchSize", props.BatchSize, (m) => m.BatchSize, {
        BatchSize: Number(props.BatchSize),
      }),
    );
  }
  if (props.MaximumBatchingWindowInSeconds !== undefined) {
    const window = Number(props.MaximumBatchingWindowInSeconds);
    checks.push(
      field(
        "MaximumBatchingWindowInSeconds",
        window,
        (m) => m.MaximumBatchingWindowInSeconds ?? 0,
        {
          MaximumBatchingWindowInSeconds: window,
        },
      ),
    );
  }
  if (props.FunctionResponseTypes !== undefined) {
    checks.push(
      field(
        "FunctionResponseTypes",
        props.FunctionResponseTypes,
        (m) => m.FunctionResponseTypes ?? [],
        {
          FunctionResponseTypes: props.FunctionResponseTypes,
        },
      ),
    );
  }
  const scaling = props.ScalingConfig as { MaximumConcurrency?: number } | undefined;
  if (scaling?.MaximumConcurrency !== undefined) {
    checks.push(
      field(
        "ScalingConfig.MaximumConcurrency",
        scaling.MaximumConcurrency,
        (m) => m.ScalingConfig?.MaximumConcurrency,
        {
          ScalingConfig: { MaximumConcurrency: scaling.MaximumConcurrency },
        },
      ),
    );
  }
  // Stream sources (the outbox publisher): retry, age, bisect, on-failure destination, filter.
  for (const property of [
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "DestinationConfig",
    "FilterCriteria",
  ] as const) {
    if (props[property] === undefined) continue;
    checks.push(
      field(property, props[property], (m) => m[property], { [property]: props[property] }),
    );
  }
  const enabled = props.Enabled === undefined ? true : props.Enabled;
  checks.push({
    ...field("Enabled", enabled, (m) => m.State === "Enabled" || m.State === "Enabling", {
      Enabled: enabled,
    }),
    // A mapping declared enabled but found disabled was paused by an operator (`spool consumers
    // pause`): that is state, not drift, and "fixing" it would resume a consumer someone stopped
    // on purpose (the reconciler runs after every local deploy). Declared disabled but found
    // running is still drift.
    equal: (declared, observed) =>
      declared === observed || (declared === true && observed === false),
  });
  return checks;
}

export const eventSourceMapping: ResourceChecker = {
  type: "AWS::Lambda::EventSourceMapping",
  connect: (config) => {
    const lambda = new LambdaClient(config);
    return (uuid, props) => eventSourceMappingChecks(lambda, uuid, props);
  },
};
