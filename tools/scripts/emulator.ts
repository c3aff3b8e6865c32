/**
 * Starts and stops the local emulator.
 *
 *   tsx scripts/emulator.ts start   # reuse an emulator that answers, else install + start MiniStack
 *   tsx scripts/emulator.ts stop    # stop the MiniStack this project started (by its PID)
 *   tsx scripts/emulator.ts status
 *   tsx scripts/emulator.ts install # only create .spool/venv with the pinned MiniStack
 *
 * SPOOL_EMULATOR_AUTH=1 starts MiniStack with its IAM evaluator on (AUTH=true): what that enforces
 * for Spool's paths, and what it does not, is in docs/emulator-matrix.md ("IAM enforcement").
 *
 * MiniStack is installed from PyPI at the versions pinned in emulator/requirements.txt into a
 * project-local virtualenv (.spool/venv): no global installs, nothing to do by hand.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assertLocalEndpoint, localEndpoint } from "./lib/local-cloud.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const STATE_DIR = join(ROOT, ".spool");
const VENV = join(STATE_DIR, "venv");
const REQUIREMENTS = join(ROOT, "emulator", "requirements.txt");
/**
 * One PID file (and log) per port: a test may run its own MiniStack beside the shared one, and
 * stopping one must never stop, or forget, the other.
 */
function stateFile(endpoint: string, extension: "pid" | "log"): string {
  const port = new URL(endpoint).port || "4566";
  return join(
    STATE_DIR,
    port === "4566" ? `emulator.${extension}` : `emulator-${port}.${extension}`,
  );
}
const pidFile = (endpoint: string) => stateFile(endpoint, "pid");

export type EmulatorKind = "ministack" | "localstack";

export interface EmulatorInfo {
  readonly kind: EmulatorKind;
  readonly endpoint: string;
  /** Set when this project started the emulator and must stop it. */
  readonly pid?: number;
  /** MiniStack evaluates IAM policies (AUTH=true); always false for LocalStack. */
  readonly auth: boolean;
}

const AUTH_ON = new Set(["1", "true", "yes"]);
const AUTH_OFF = new Set(["", "0", "false", "no"]);

/** Whether SPOOL_EMULATOR_AUTH asks for MiniStack's IAM enforcement; a value it cannot read is an error. */
export function authRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = (env.SPOOL_EMULATOR_AUTH ?? "").trim().toLowerCase();
  if (AUTH_ON.has(raw)) return true;
  if (AUTH_OFF.has(raw)) return false;
  throw new Error(
    `SPOOL_EMULATOR_AUTH must be 1 or 0, got ${JSON.stringify(env.SPOOL_EMULATOR_AUTH)}`,
  );
}

/**
 * How long a health check waits for an answer. A stopped emulator refuses the connection at once;
 * a running one that is busy (a whole suite against it, IAM evaluated on every call) has taken
 * over 2 s to answer, and a deploy that then gave up failed its test for nothing.
 */
const HEALTH_TIMEOUT_MS = 15_000;

/** What MiniStack's health answer says about AUTH ("enabled" / "disabled"). */
async function ministackAuth(endpoint: string): Promise<boolean> {
  const response = await fetch(`${endpoint}/_ministack/health`, {
    signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
  });
  const health = (await response.json()) as { auth?: string };
  return health.auth === "enabled";
}

/**
 * An emulator that is already running is reused as it is, so a run that asked for IAM enforcement
 * must not quietly get an emulator without it (nor the reverse): its results would claim a check
 * that never ran.
 */
export function assertAuthMatches(
  running: { readonly kind: EmulatorKind; readonly auth: boolean; readonly endpoint: string },
  wanted: boolean,
): void {
  if (running.auth === wanted) return;
  if (running.kind === "localstack") {
    throw new Error(
      `SPOOL_EMULATOR_AUTH=1 turns on MiniStack's IAM enforcement, but LocalStack answers at ${running.endpoint}`,
    );
  }
  throw new Error(
    `MiniStack at ${running.endpoint} runs with AUTH ${running.auth ? "on" : "off"}, but SPOOL_EMULATOR_AUTH asks for it ${wanted ? "on" : "off"}: stop it (npm run emulator:stop) and start again`,
  );
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Which emulator answers at the endpoint, if any. MiniStack also answers LocalStack's path. */
export async function detectEmulator(
  endpoint = localEndpoint(),
): Promise<EmulatorKind | undefined> {
  if (await answers(`${endpoint}/_ministack/health`)) return "ministack";
  if (await answers(`${endpoint}/_localstack/health`)) return "localstack";
  return undefined;
}

function log(message: string) {
  process.stderr.write(`[emulator] ${message}\n`);
}

/**
 * Creates a virtualenv under .spool and installs pinned requirements into it, unless it already
 * holds exactly those (a hash of the requirements file is kept in it). Returns its python.
 */
export function ensurePythonTool(tool: {
  readonly venv: string;
  readonly requirements: string;
  readonly what: string;
}): string {
  const python = join(tool.venv, "bin", "python");
  const stamp = join(tool.venv, ".requirements.sha256");
  const want = createHash("sha256").update(readFileSync(tool.requirements)).digest("hex");
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, "utf8") === want) {
    return python;
  }
  log(`installing ${tool.what} into ${tool.venv} (pinned in ${tool.requirements})`);
  mkdirSync(STATE_DIR, { recursive: true });
  rmSync(tool.venv, { recursive: true, force: true });
  execFileSync(process.env.PYTHON ?? "python3", ["-m", "venv", tool.venv], { stdio: "inherit" });
  execFileSync(
    python,
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", tool.requirements],
    { stdio: "inherit" },
  );
  writeFileSync(stamp, want);
  return python;
}

/** Creates .spool/venv and installs the pinned MiniStack, unless it is already there. */
export function ensureVirtualenv(): string {
  return ensurePythonTool({ venv: VENV, requirements: REQUIREMENTS, what: "MiniStack" });
}

function readPid(endpoint: string): number | undefined {
  const file = pidFile(endpoint);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Reuses an emulator that answers at the endpoint; otherwise installs and starts MiniStack. */
export async function startEmulator(endpoint = localEndpoint()): Promise<EmulatorInfo> {
  assertLocalEndpoint(endpoint);
  const wantAuth = authRequested();
  const running = await detectEmulator(endpoint);
  if (running) {
    const pid = readPid(endpoint);
    const auth = running === "ministack" && (await ministackAuth(endpoint));
    assertAuthMatches({ kind: running, auth, endpoint }, wantAuth);
    return { kind: running, endpoint, auth, ...(pid !== undefined && alive(pid) ? { pid } : {}) };
  }
  const url = new URL(endpoint);
  const python = ensureVirtualenv();
  mkdirSync(STATE_DIR, { recursive: true });
  const logFile = stateFile(endpoint, "log");
  const out = openSync(logFile, "a");
  const started = Date.now();
  // Lambda handlers run as child processes of MiniStack on the first `node` on its PATH: put the
  // project's pinned Node (node_modules/.bin/node, the Lambda runtime's major) first.
  const path = [join(ROOT, "node_modules", ".bin"), process.env.PATH].join(":");
  // MiniStack unpacks each function under TMPDIR: it must stay outside this repository, whose
  // package.json ("type": "module") would turn MiniStack's CommonJS worker script into ESM.
  // With AUTH on, a launcher corrects the evaluator where it denies what AWS allows (TLS, SQS
  // batch actions, cloudwatch:namespace): see its docstring.
  const entry = wantAuth ? [join(ROOT, "emulator", "ministack_auth.py")] : ["-m", "ministack"];
  const child = spawn(python, entry, {
    cwd: STATE_DIR,
    detached: true,
    stdio: ["ignore", out, out],
    env: {
      ...process.env,
      PATH: path,
      BIND_HOST: url.hostname === "localhost" ? "127.0.0.1" : url.hostname,
      GATEWAY_PORT: url.port || "4566",
      IOT_MTLS_ENABLED: "0",
      SFTP_ENABLED: "0",
      LOG_LEVEL: process.env.MINISTACK_LOG_LEVEL ?? "INFO",
      // Always set, so a stray AUTH in the caller's environment cannot decide it.
      AUTH: wantAuth ? "true" : "false",
    },
  });
  if (child.pid === undefined) throw new Error("could not start MiniStack");
  writeFileSync(pidFile(endpoint), String(child.pid));
  child.unref();
  await waitFor(
    async () => {
      if (!alive(child.pid as number))
        throw new Error(`MiniStack exited during start; see ${logFile}`);
      return (await detectEmulator(endpoint)) === "ministack";
    },
    60_000,
    `MiniStack health at ${endpoint}`,
  );
  log(
    `MiniStack started (PID ${child.pid}) at ${endpoint}${wantAuth ? " with AUTH=true" : ""} in ${Date.now() - started} ms; log: ${logFile}`,
  );
  return { kind: "ministack", endpoint, pid: child.pid, auth: wantAuth };
}

/**
 * Stops the MiniStack this project started at the endpoint, by the PID it recorded (its whole
 * process group).
 */
export async function stopEmulator(endpoint = localEndpoint()): Promise<boolean> {
  const pid = readPid(endpoint);
  if (pid === undefined) return false;
  if (alive(pid)) {
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal); // detached at start, so the group is MiniStack and its workers
      } catch {
        if (alive(pid)) process.kill(pid, signal);
      }
    };
    signalGroup("SIGTERM");
    try {
      await waitFor(() => !alive(pid), 10_000, `PID ${pid} to exit`);
    } catch {
      signalGroup("SIGKILL");
    }
    log(`stopped MiniStack (PID ${pid})`);
  }
  rmSync(pidFile(endpoint), { force: true });
  return true;
}

async function main() {
  const command = process.argv[2] ?? "status";
  if (command === "install") {
    ensureVirtualenv();
    log(`MiniStack is installed in ${VENV}`);
  } else if (command === "start") {
    const info = await startEmulator();
    console.log(JSON.stringify(info));
  } else if (command === "stop") {
    if (!(await stopEmulator()))
      log("no MiniStack started by this project is recorded; nothing to stop");
  } else if (command === "status") {
    const kind = await detectEmulator();
    console.log(
      kind ? `${kind} answers at ${localEndpoint()}` : `no emulator answers at ${localEndpoint()}`,
    );
    process.exitCode = kind ? 0 : 1;
  } else {
    console.error("usage: emulator.ts install|start|stop|status");
    process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`emulator: ${(error as Error).message}`);
    process.exit(1);
  });
}
