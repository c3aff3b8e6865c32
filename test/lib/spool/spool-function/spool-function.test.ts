import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { beforeAll, describe, expect, it } from "vitest";
import { SpoolFunction, spoolBundling } from "../../../../lib/spool/spool-function/index.js";
import { expectRefusal } from "../../../helpers/errors.js";

const entry = fileURLToPath(new URL("../../../helpers/fixtures/noop-handler.ts", import.meta.url));
const sdkEntry = fileURLToPath(
  new URL("../../../helpers/fixtures/sdk-handler.ts", import.meta.url),
);
const consumerEntry = fileURLToPath(
  new URL("../../../helpers/fixtures/consumer-defaults-handler.ts", import.meta.url),
);

/** The bundled code of each Lambda function of `stack`, by the start of its logical id. */
function bundledCode(app: App, stack: Stack, ids: string[]): Record<string, string> {
  const functions = Object.entries(
    Template.fromStack(stack).findResources("AWS::Lambda::Function"),
  );
  const code: Record<string, string> = {};
  for (const id of ids) {
    const found = functions.find(([logicalId]) => logicalId.startsWith(id));
    // The asset's directory in the cloud assembly is named after the zip the template deploys.
    const zip = String(found?.[1].Properties.Code.S3Key);
    const dir = join(app.outdir, `asset.${zip.replace(/\.zip$/, "")}`);
    code[id] = readFileSync(join(dir, "index.mjs"), "utf8");
  }
  return code;
}

describe("SpoolFunction defaults", () => {
  let app: App;
  let template: Template;

  beforeAll(() => {
    app = new App();
    const stack = new Stack(app, "Test", { env: { account: "111111111111", region: "us-east-1" } });
    new SpoolFunction(stack, "Worker", { entry });
    template = Template.fromStack(stack);
  }, 60_000);

  it("is Node.js 24 on arm64 with active tracing, 30 s and 256 MB", () => {
    template.resourceCountIs("AWS::Lambda::Function", 1);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      TracingConfig: { Mode: "Active" },
      Timeout: 30,
      MemorySize: 256,
      Handler: "index.handler",
    });
  });

  it("turns source maps on at run time, so stack traces point at the TypeScript", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: { NODE_OPTIONS: "--enable-source-maps" } },
    });
  });

  it("logs to its own log group, kept one month and removed with the stack", () => {
    const groups = template.findResources("AWS::Logs::LogGroup");
    const ids = Object.keys(groups);
    expect(ids).toHaveLength(1);
    template.hasResource("AWS::Logs::LogGroup", {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: "Delete",
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      LoggingConfig: { LogGroup: { Ref: ids[0] } },
    });
  });

  it("has its own role: writes to its own log group and X-Ray, no managed policy", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: [
          {
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Effect: "Allow",
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("^WorkerLogs"), "Arn"] },
          },
          {
            Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            Effect: "Allow",
            Resource: "*",
          },
        ],
      },
    });
    const roles = Object.values(template.findResources("AWS::IAM::Role"));
    expect(roles).toHaveLength(1);
    expect(roles[0]?.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it("bundles a minified ESM module with a require shim and a source map", () => {
    const assets = readdirSync(app.outdir).filter((name) => name.startsWith("asset."));
    const bundles = assets
      .map((name) => join(app.outdir, name))
      .filter((dir) => existsSync(join(dir, "index.mjs")));
    expect(bundles).toHaveLength(1);
    const dir = bundles[0] as string;
    const code = readFileSync(join(dir, "index.mjs"), "utf8");
    expect(code.startsWith(spoolBundling().banner)).toBe(true);
    expect(code).toMatch(/export\s*\{/);
    expect(existsSync(join(dir, "index.mjs.map"))).toBe(true);
    const map = JSON.parse(readFileSync(join(dir, "index.mjs.map"), "utf8")) as {
      sourcesContent?: unknown;
    };
    // sourcesContent: false keeps the TypeScript sources out of the deployed map.
    expect(map.sourcesContent).toBeUndefined();
  });
});

describe("what a SpoolFunction bundle leaves out", () => {
  let code: Record<string, string>;

  beforeAll(() => {
    const app = new App();
    const stack = new Stack(app, "Test", { env: { account: "111111111111", region: "us-east-1" } });
    new SpoolFunction(stack, "Production", { entry: sdkEntry });
    new SpoolFunction(stack, "TestHooks", {
      entry: sdkEntry,
      environment: { SPOOL_FAULT_INJECTION: "enabled" },
    });
    app.synth();
    code = bundledCode(app, stack, ["Production", "TestHooks"]);
  }, 120_000);

  it("keeps only the environment credentials of the SDK's default chain", () => {
    for (const bundle of [code.Production, code.TestHooks]) {
      // The SDK's own debug labels of the chain's links, present whenever the link is bundled.
      expect(bundle).toContain("Unable to find environment variable credentials");
      expect(bundle).not.toMatch(/defaultProvider::from(SSO|Ini|Process|TokenFile)/);
      expect(bundle).not.toContain("credential-provider-imds");
    }
  });

  it("compiles the fault injector out unless the environment turns it on at construction", () => {
    expect(code.Production).not.toContain("injected DynamoDB throttling");
    expect(code.TestHooks).toContain("injected DynamoDB throttling");
  });
});

describe("a SpoolFunction bundle and the payload store's S3 adapter", () => {
  let code: Record<string, string>;

  beforeAll(() => {
    const app = new App();
    const stack = new Stack(app, "Test", { env: { account: "111111111111", region: "us-east-1" } });
    new SpoolFunction(stack, "NoStore", { entry: consumerEntry });
    new SpoolFunction(stack, "WithStore", {
      entry: consumerEntry,
      environment: { SPOOL_PAYLOAD_BUCKET: "payloads-bucket" },
    });
    app.synth();
    code = bundledCode(app, stack, ["NoStore", "WithStore"]);
  }, 120_000);

  it("compiles the adapter and @aws-sdk/client-s3 out unless the environment names a store at construction", () => {
    // The adapter's own message, and the S3 client's service id.
    expect(code.NoStore).not.toContain("the payload store could not be read");
    expect(code.NoStore).not.toContain("AmazonS3");
    expect(code.WithStore).toContain("the payload store could not be read");
    expect(code.WithStore).toContain("AmazonS3");
  });
});

describe("SpoolFunction options", () => {
  it("takes logRetention and the usual NodejsFunction props", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "Test");
    new SpoolFunction(stack, "Worker", {
      entry,
      timeout: Duration.seconds(10),
      memorySize: 512,
      logRetention: RetentionDays.ONE_WEEK,
      environment: { MODE: "fast" },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Timeout: 10,
      MemorySize: 512,
      Environment: { Variables: { MODE: "fast" } },
      Runtime: "nodejs24.x",
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 7 });
  });
});

describe("spoolBundling", () => {
  it("aliases the SDK's credential chain to the Lambda one and compiles faults out by default", () => {
    const bundling = spoolBundling();
    expect(bundling.esbuildArgs?.["--alias:@aws-sdk/credential-provider-node"]).toMatch(
      /spool-function\/runtime\/lambda-credentials\.ts$/,
    );
    expect(bundling.define).toEqual({
      "process.env.SPOOL_FAULT_INJECTION_BUNDLED": JSON.stringify("false"),
      "process.env.SPOOL_PAYLOAD_S3_BUNDLED": JSON.stringify("false"),
    });
    expect(spoolBundling({ faultInjection: true, payloadS3: true }).define).toEqual({});
    expect(bundling.metafile).toBe(false);
    expect(spoolBundling({ metafile: true }).metafile).toBe(true);
  });

  it("bundles the AWS SDK, minified ESM with source maps and no sources inside", () => {
    expect(spoolBundling()).toMatchObject({
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      format: OutputFormat.ESM,
      bundleAwsSDK: true,
      externalModules: [],
    });
    expect(spoolBundling().banner).toMatch(/createRequire/);
  });
});

describe("SpoolFunction validation", () => {
  it("of two functions, names the one refused, its prop and the value", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    new SpoolFunction(stack, "Orders", { entry });
    expectRefusal(
      () => new SpoolFunction(stack, "Refunds", { entry, memorySize: 64 }),
      "Stack/Refunds",
      "memorySize must be an integer from 128 to 10240 MB, got 64 MB",
    );
    expectRefusal(
      () => new SpoolFunction(stack, "Audit", { entry, timeout: Duration.minutes(16) }),
      "Stack/Audit",
      "timeout must be from 1 second to 15 minutes, got 960 s",
    );
  });

  it("refuses fault injection added after construction, when the bundle is already built", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    const fn = new SpoolFunction(stack, "Orders", { entry });
    expectRefusal(
      () => fn.addEnvironment("SPOOL_FAULT_INJECTION", "enabled"),
      "Stack/Orders",
      'environment SPOOL_FAULT_INJECTION must be given at construction, when the bundle is built, got "enabled" from addEnvironment',
    );
    const hooked = new SpoolFunction(stack, "Hooked", {
      entry,
      environment: { SPOOL_FAULT_INJECTION: "enabled" },
    });
    expect(() => hooked.addEnvironment("SPOOL_FAULT_INJECTION", "enabled")).not.toThrow();
  });

  it("refuses a payload store named after construction, when the bundle left its S3 adapter out", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    const fn = new SpoolFunction(stack, "Orders", { entry });
    expectRefusal(
      () => fn.addEnvironment("SPOOL_PAYLOAD_BUCKET", "payloads"),
      "Stack/Orders",
      'environment SPOOL_PAYLOAD_BUCKET must be given at construction, when the bundle is built (its S3 adapter is left out otherwise), got "payloads" from addEnvironment',
    );
    const withStore = new SpoolFunction(stack, "Stored", {
      entry,
      environment: { SPOOL_PAYLOAD_BUCKET: "payloads" },
    });
    expect(() => withStore.addEnvironment("SPOOL_PAYLOAD_BUCKET", "payloads")).not.toThrow();
  });

  it.each(["f".repeat(65), "orders.worker"])(
    "refuses a functionName Lambda would refuse, naming the function: %s",
    (functionName) => {
      const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
      expectRefusal(
        () => new SpoolFunction(stack, "Refunds", { entry, functionName }),
        "Stack/Refunds",
        `functionName must be 1–64 letters, digits, hyphens or underscores, got "${functionName}"`,
      );
    },
  );
});
