import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { type IRole, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import {
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct, IConstruct } from "constructs";
import { requireInteger, requireName, requireSeconds } from "../runtime/validation.js";
import { requireEnvironmentWithinLimit } from "./environment-size.js";
import { acknowledgeWildcardResources, RESOURCELESS_ACTIONS_RULE } from "./nag.js";

export interface SpoolFunctionProps
  extends Omit<NodejsFunctionProps, "runtime" | "bundling" | "logGroup" | "logRetention"> {
  /** Path of the handler module (TypeScript). */
  readonly entry: string;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A NodejsFunction with Spool's defaults: Node.js 24 on arm64, X-Ray tracing, a log group with
 * retention, and a minified ESM bundle with source maps and the AWS SDK inside it.
 */
export class SpoolFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: SpoolFunctionProps) {
    const { logRetention, ...rest } = props;
    // Before super(), which refuses a bad name without saying which function: the error names
    // the path this function is about to have.
    const path = { node: { path: [scope.node.path, id].filter(Boolean).join("/") } } as IConstruct;
    requireName(path, "functionName", props.functionName, "function");
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role, allowed to write to its own log group only: the managed
    // AWSLambdaBasicExecutionRole would let it write to every log group in the account.
    const role: IRole =
      rest.role ??
      new Role(scope, `${id}Role`, {
        assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
        description: `Execution role of ${id}`,
      });
    if (!rest.role) logGroup.grantWrite(role);
    super(scope, id, {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      timeout: Duration.seconds(30),
      memorySize: 256,
      ...rest,
      environment: {
        // The bundle ships a source map; without this flag stack traces stay minified.
        NODE_OPTIONS: "--enable-source-maps",
        ...rest.environment,
      },
      role,
      logGroup,
      bundling: spoolBundling(),
    });
    if (!rest.role) acknowledgeWildcardResources(role, [RESOURCELESS_ACTIONS_RULE]);
    // After super(): the error names this function's path. Lambda's own limits, which CDK
    // leaves to the deployment to refuse.
    requireInteger(this, "memorySize", props.memorySize, 128, 10_240, " MB");
    requireSeconds(this, "timeout", props.timeout, 1, 900, "from 1 second to 15 minutes");
    // Constructs add variables after construction (a recurring job per bindWorker), so the
    // total is known only at synth.
    this.node.addValidation({
      validate: () => {
        requireEnvironmentWithinLimit(this);
        return [];
      },
    });
  }
}

/**
 * Minified ESM with source maps and the AWS SDK bundled, so the code runs against the SDK
 * version it was tested with (and on emulators that provide none).
 */
export function spoolBundling() {
  return {
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    format: OutputFormat.ESM,
    mainFields: ["module", "main"],
    bundleAwsSDK: true,
    externalModules: [],
    // Some CommonJS dependencies call require(); an ESM bundle needs it defined.
    banner:
      "import{createRequire as __spoolCreateRequire}from'module';const require=__spoolCreateRequire(import.meta.url);",
  };
}
