/**
 * Deploys the Spool stack to the local emulator and reconciles what the emulator dropped.
 *
 *   tsx scripts/deploy-local.ts            # start the emulator if needed, bootstrap, deploy, reconcile
 *
 * Writes the stack outputs to .spool/outputs.json and the reconciler's report to
 * .spool/reconcile-report.json. Everything here is local-only: the synthesized template is the
 * same one `cdk deploy` sends to AWS, apart from the test hooks `spool:local` turns on.
 */
import { type StdioOptions, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { ROOT, STATE_DIR, startEmulator } from "./emulator.js";
import { bootstrapNeeded, cliBootstrapVersion } from "./lib/bootstrap.js";
import {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  localAwsEnv,
  localClientConfig,
  STACK_NAME,
} from "./lib/local-cloud.js";
import { formatReport } from "./reconcile/report.js";
import { reconcile } from "./reconcile.js";

export const OUTPUTS_FILE = join(STATE_DIR, "outputs.json");
const DEPLOY_LOG = join(STATE_DIR, "deploy.log");

export type StackOutputs = Record<string, string>;

/** Runs a command; in quiet mode its output goes to .spool/deploy.log and shows only on failure. */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  quiet: boolean,
  cwd = ROOT,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const logFd = quiet ? openSync(DEPLOY_LOG, "a") : undefined;
    const stdio: StdioOptions =
      logFd === undefined ? ["ignore", "inherit", "inherit"] : ["ignore", logFd, logFd];
    const child = spawn(command, args, { cwd, env, stdio });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (logFd !== undefined) closeSync(logFd);
      if (code === 0) return resolvePromise();
      const tail = quiet
        ? `\n${readFileSync(DEPLOY_LOG, "utf8").split("\n").slice(-40).join("\n")}`
        : "";
      reject(new Error(`${basename(command)} ${args.join(" ")} exited with ${code}${tail}`));
    });
  });
}

function cdkEnv(): NodeJS.ProcessEnv {
  return {
    ...localAwsEnv(),
    // cdklocal drops AWS_* variables it does not know unless they are allow-listed.
    AWS_ENVAR_ALLOWLIST: "AWS_REGION,AWS_DEFAULT_REGION,AWS_ENDPOINT_URL_S3",
    CDK_DISABLE_CLI_TELEMETRY: "true",
  };
}

const cdklocal = join(ROOT, "node_modules", ".bin", "cdklocal");

function outputsFile(stack: string): string {
  return stack === STACK_NAME ? OUTPUTS_FILE : join(STATE_DIR, `outputs-${stack}.json`);
}

export function readOutputs(stack = STACK_NAME): StackOutputs {
  const file = outputsFile(stack);
  if (!existsSync(file)) throw new Error(`no ${file}: run npm run deploy:local first`);
  const all = JSON.parse(readFileSync(file, "utf8")) as Record<string, StackOutputs>;
  const outputs = all[stack];
  if (!outputs) throw new Error(`${file} has no outputs for stack ${stack}`);
  return outputs;
}

export interface DeployTimings {
  /** Checking the emulator for a bootstrap stack, and bootstrapping it when it had none. */
  readonly bootstrapMs: number;
  /** Why it was bootstrapped this time (no toolkit stack, an older version…), if it was. */
  readonly bootstrapped?: string;
  readonly deployMs: number;
  readonly reconcileMs: number;
}

export interface DeployOptions {
  readonly quiet?: boolean;
  /** @default the Spool stack */
  readonly stack?: string;
  /** Extra CDK context. */
  readonly context?: Record<string, string>;
  /**
   * Another CDK app than bin/app.ts (cdk's `--app`), e.g. the benchmark's; its cloud assembly
   * goes to its own folder so the two never overwrite each other.
   * @default the project's cdk.json app, into cdk.out
   */
  readonly app?: { readonly command: string; readonly output: string };
  /**
   * The CDK app's folder (another app than this repository's, e.g. a scratch app the copy test
   * made); its outputs file is written there.
   * @default this repository
   */
  readonly cwd?: string;
}

export async function deployLocal(
  options: DeployOptions = {},
): Promise<{ outputs: StackOutputs; timings: DeployTimings }> {
  const info = await startEmulator();
  mkdirSync(STATE_DIR, { recursive: true });
  const env = cdkEnv();
  const stack = options.stack ?? STACK_NAME;
  const context = ["-c", "spool:local=true"];
  for (const [key, value] of Object.entries(options.context ?? {}))
    context.push("-c", `${key}=${value}`);
  const quiet = options.quiet ?? false;
  const cdkFlags = ["--no-notices"];
  const cdkOut = options.app?.output ?? "cdk.out";
  const cwd = options.cwd ?? ROOT;
  const outputs = options.cwd ? join(cwd, "outputs.json") : outputsFile(stack);
  const appFlags = options.app ? ["--app", options.app.command, "--output", cdkOut] : [];

  let t = Date.now();
  // Asked of the emulator itself: one restarted with its state gone has no bootstrap stack.
  const cfn = new CloudFormationClient(localClientConfig());
  const bootstrapReason = await bootstrapNeeded(cfn, cliBootstrapVersion());
  cfn.destroy();
  if (bootstrapReason) {
    if (!quiet) process.stderr.write(`[deploy] bootstrapping ${info.kind}: ${bootstrapReason}\n`);
    await run(
      cdklocal,
      ["bootstrap", `aws://${LOCAL_ACCOUNT}/${LOCAL_REGION}`, ...context, ...cdkFlags],
      env,
      quiet,
    );
  }
  const bootstrapMs = Date.now() - t;

  t = Date.now();
  await run(
    cdklocal,
    [
      "deploy",
      stack,
      ...appFlags,
      ...context,
      "--require-approval",
      "never",
      // MiniStack fails a no-change redeploy through a change set; a direct deployment works.
      "--method=direct",
      "--outputs-file",
      outputs,
      ...cdkFlags,
    ],
    env,
    quiet,
    cwd,
  );
  const deployMs = Date.now() - t;

  t = Date.now();
  const report = await reconcile({
    templatePath: join(cwd, cdkOut, `${stack}.template.json`),
    stackName: stack,
  });
  const reportName =
    stack === STACK_NAME ? "reconcile-report.json" : `reconcile-report-${stack}.json`;
  writeFileSync(join(STATE_DIR, reportName), `${JSON.stringify(report, null, 2)}\n`);
  // The report is printed on every deploy, quiet or not: a gap must never be hidden.
  process.stderr.write(`${formatReport(report)}\n`);
  const reconcileMs = Date.now() - t;

  const deployed = options.cwd
    ? ((JSON.parse(readFileSync(outputs, "utf8")) as Record<string, StackOutputs>)[stack] ?? {})
    : readOutputs(stack);
  return {
    outputs: deployed,
    timings: {
      bootstrapMs,
      deployMs,
      reconcileMs,
      ...(bootstrapReason ? { bootstrapped: bootstrapReason } : {}),
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  deployLocal()
    .then(({ timings }) => {
      process.stderr.write(
        `[deploy] bootstrap ${(timings.bootstrapMs / 1000).toFixed(1)} s, deploy ${(timings.deployMs / 1000).toFixed(1)} s, reconcile ${(timings.reconcileMs / 1000).toFixed(1)} s; outputs in ${OUTPUTS_FILE}\n`,
      );
    })
    .catch((error) => {
      console.error(`deploy-local: ${(error as Error).message}`);
      process.exit(1);
    });
}
