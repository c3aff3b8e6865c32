/**
 * Deploys the Spool stack to the local emulator and reconciles what the emulator dropped.
 *
 *   tsx scripts/deploy-local.ts            # start the emulator if needed, bootstrap, deploy, reconcile
 *
 * Writes the stack outputs to .spool/outputs.json and the reconciler's report to
 * .spool/reconcile-report.json. Everything here is local-only: the synthesized template is the
 * same one `cdk deploy` sends to AWS, apart from the test hooks `spool:local` turns on.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, STATE_DIR, startEmulator } from "./emulator.js";
import { LOCAL_ACCOUNT, LOCAL_REGION, localAwsEnv, STACK_NAME } from "./lib/local-cloud.js";
import { formatReport, reconcile } from "./reconcile.js";

export const OUTPUTS_FILE = join(STATE_DIR, "outputs.json");
const BOOTSTRAP_MARK = join(STATE_DIR, "bootstrapped");

export type StackOutputs = Record<string, string>;

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`)),
    );
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

export function readOutputs(): StackOutputs {
  if (!existsSync(OUTPUTS_FILE))
    throw new Error(`no ${OUTPUTS_FILE}: run npm run deploy:local first`);
  const all = JSON.parse(readFileSync(OUTPUTS_FILE, "utf8")) as Record<string, StackOutputs>;
  const outputs = all[STACK_NAME];
  if (!outputs) throw new Error(`${OUTPUTS_FILE} has no outputs for stack ${STACK_NAME}`);
  return outputs;
}

export interface DeployTimings {
  readonly bootstrapMs: number;
  readonly deployMs: number;
  readonly reconcileMs: number;
}

export async function deployLocal(
  options: { quiet?: boolean } = {},
): Promise<{ outputs: StackOutputs; timings: DeployTimings }> {
  const info = await startEmulator();
  mkdirSync(STATE_DIR, { recursive: true });
  const env = cdkEnv();
  const context = ["-c", "spool:local=true"];
  const quiet = options.quiet ? ["--progress", "events", "--no-notices"] : ["--no-notices"];

  let t = Date.now();
  // The bootstrap mark is per emulator process: a fresh emulator starts with no bootstrap stack.
  const mark = `${info.kind}:${info.pid ?? "external"}`;
  if (!existsSync(BOOTSTRAP_MARK) || readFileSync(BOOTSTRAP_MARK, "utf8") !== mark) {
    await run(
      cdklocal,
      ["bootstrap", `aws://${LOCAL_ACCOUNT}/${LOCAL_REGION}`, ...context, ...quiet],
      env,
    );
    writeFileSync(BOOTSTRAP_MARK, mark);
  }
  const bootstrapMs = Date.now() - t;

  t = Date.now();
  await run(
    cdklocal,
    [
      "deploy",
      STACK_NAME,
      ...context,
      "--require-approval",
      "never",
      // MiniStack fails a no-change redeploy through a change set; a direct deployment works.
      "--method=direct",
      "--outputs-file",
      OUTPUTS_FILE,
      ...quiet,
    ],
    env,
  );
  const deployMs = Date.now() - t;

  t = Date.now();
  const report = await reconcile({
    templatePath: join(ROOT, "cdk.out", `${STACK_NAME}.template.json`),
  });
  writeFileSync(join(STATE_DIR, "reconcile-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`${formatReport(report)}\n`);
  const reconcileMs = Date.now() - t;

  return { outputs: readOutputs(), timings: { bootstrapMs, deployMs, reconcileMs } };
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
