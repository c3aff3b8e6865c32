import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { type IRole, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, type EnvironmentOptions, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import {
  type BundlingOptions,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct, IConstruct } from "constructs";
import {
  FAULT_INJECTION_ENABLED,
  FAULT_INJECTION_ENV,
  FAULTS_BUNDLED_DEFINE,
} from "../runtime/fault-switch.js";
import { PAYLOAD_BUCKET_ENV, PAYLOAD_S3_BUNDLED_DEFINE } from "../runtime/payload-switch.js";
import { invalid, requireInteger, requireName, requireSeconds } from "../runtime/validation.js";
import { bundleReuse } from "./bundle-cache.js";
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
  /**
   * Whether the bundle holds the fault injector: only when the environment given at construction
   * turns it on (a test deployment). The bundle is built in the constructor, so a later
   * `addEnvironment` cannot add it.
   */
  readonly faultInjectionBundled: boolean;
  /**
   * Whether the bundle holds the S3 adapter for claim-check pointers: only when the environment
   * given at construction names a payload store (SPOOL_PAYLOAD_BUCKET, which QueueConsumer's
   * `payloadStore` writes), so every other function is spared `@aws-sdk/client-s3`.
   */
  readonly payloadS3Bundled: boolean;
  /**
   * Whether this synth reused the bundle of a previous one, whose inputs are all unchanged,
   * instead of running esbuild (bundle-cache.ts; `-c spool:bundleCache=false` turns it off).
   */
  readonly bundleReused: boolean;

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
    const runtime = Runtime.NODEJS_24_X;
    const architecture = rest.architecture ?? Architecture.ARM_64;
    // The previous synth's bundle when none of its inputs changed (bundle-cache.ts), else
    // NodejsFunction bundles with esbuild as usual.
    const reuse = bundleReuse(scope, {
      entry: rest.entry,
      depsLockFilePath: rest.depsLockFilePath,
      projectRoot: rest.projectRoot,
      runtime: runtime.name,
      architecture: architecture.name,
      bundling: spoolBundling({
        metafile: [true, "true"].includes(scope.node.tryGetContext(BUNDLE_METAFILE_CONTEXT)),
        faultInjection: faultInjectionRequested(rest.environment),
        payloadS3: payloadS3Requested(rest.environment),
      }),
    });
    super(
      scope,
      id,
      reuse.apply({
        runtime,
        architecture,
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
      }),
    );
    this.bundleReused = reuse.reused;
    reuse.record(this);
    this.faultInjectionBundled = faultInjectionRequested(rest.environment);
    this.payloadS3Bundled = payloadS3Requested(rest.environment);
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

  override addEnvironment(key: string, value: string, options?: EnvironmentOptions): this {
    // The variable would be ignored by a bundle built without the injector: say so at synth
    // rather than let a test deployment run without the faults it asked for.
    // Lambda's constructor adds the construction-time environment through here too, before
    // faultInjectionBundled is set: only a call after construction sees it false.
    if (key === FAULT_INJECTION_ENV && this.faultInjectionBundled === false) {
      invalid(
        this,
        `environment ${key} must be given at construction, when the bundle is built, got ${JSON.stringify(value)} from addEnvironment`,
      );
    }
    if (key === PAYLOAD_BUCKET_ENV && this.payloadS3Bundled === false) {
      invalid(
        this,
        `environment ${key} must be given at construction, when the bundle is built (its S3 adapter is left out otherwise), got ${JSON.stringify(value)} from addEnvironment`,
      );
    }
    return super.addEnvironment(key, value, options);
  }
}

function payloadS3Requested(environment: Record<string, string> | undefined): boolean {
  return environment?.[PAYLOAD_BUCKET_ENV] !== undefined;
}

function faultInjectionRequested(environment: Record<string, string> | undefined): boolean {
  return environment?.[FAULT_INJECTION_ENV] === FAULT_INJECTION_ENABLED;
}

/** See runtime/lambda-credentials.ts: Lambda's credentials come from the environment. */
const LAMBDA_CREDENTIALS = fileURLToPath(
  new URL("./runtime/lambda-credentials.ts", import.meta.url),
);

/**
 * Context key (`-c spool:bundleMetafile=true`) that makes every SpoolFunction write esbuild's
 * metafile (`index.meta.json`) beside its bundle: what each bundle holds, byte by byte. Off by
 * default, since the file would otherwise ship in the deployed asset; `npm run bench` turns it on
 * in its own synth.
 */
export const BUNDLE_METAFILE_CONTEXT = "spool:bundleMetafile";

export interface SpoolBundlingOptions {
  /** Write esbuild's metafile beside the bundle. @default false */
  readonly metafile?: boolean;
  /**
   * Keep the fault injector (lib/spool/runtime/faults.ts) in the bundle. Test deployments only.
   * @default false - the injector is compiled out
   */
  readonly faultInjection?: boolean;
  /**
   * Keep the S3 adapter for claim-check pointers (lib/spool/runtime/payload-objects-s3.ts) in
   * the consumer's defaults. Functions with a payload store only.
   * @default false - compiled out, with `@aws-sdk/client-s3`
   */
  readonly payloadS3?: boolean;
}

/**
 * Minified ESM with source maps and the AWS SDK bundled, so the code runs against the SDK
 * version it was tested with (and on emulators that provide none). Two things a Lambda never uses
 * stay out: the SDK's credential chain beyond the environment (runtime/lambda-credentials.ts) and,
 * unless asked for, the fault injector and the payload store's S3 adapter.
 */
export function spoolBundling(options: SpoolBundlingOptions = {}): BundlingOptions & {
  readonly banner: string;
} {
  const define: Record<string, string> = {
    ...(options.faultInjection ? {} : { [FAULTS_BUNDLED_DEFINE]: JSON.stringify("false") }),
    ...(options.payloadS3 ? {} : { [PAYLOAD_S3_BUNDLED_DEFINE]: JSON.stringify("false") }),
  };
  return {
    metafile: options.metafile ?? false,
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
    esbuildArgs: { "--alias:@aws-sdk/credential-provider-node": LAMBDA_CREDENTIALS },
    define,
  };
}
