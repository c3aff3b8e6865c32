import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { commands } from "./commands/index.js";
import type { AwsClients } from "./lib/aws.js";
import { describeError } from "./lib/errors.js";
import { type Io, processIo } from "./lib/io.js";
import { PROJECT_DIR } from "./lib/project.js";
import { loadInventory, type StackInventory } from "./lib/stack.js";
import { resolveTarget } from "./lib/target.js";

/** Exit codes `tools/cli/README.md` promises: 0 success, 1 a failed operation, 2 a bad argument. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Commander's own "errors" that are really the answer the user asked for. */
const ANSWERED = new Set(["commander.helpDisplayed", "commander.help", "commander.version"]);

/**
 * Where stack template facts are kept between commands (lib/template-cache.ts): the project's
 * `.spool/cache`, or SPOOL_CACHE_DIR; SPOOL_CACHE_DIR=off reads the template every time.
 */
function templateCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const dir = env.SPOOL_CACHE_DIR;
  if (dir === "off") return undefined;
  return dir || join(PROJECT_DIR, ".spool", "cache");
}

/** Spool's version, as the package.json it ships with says. */
function version(): string {
  const pkg = join(PROJECT_DIR, "package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}

export interface GlobalOptions {
  readonly stack: string;
  readonly region: string | undefined;
  readonly json: boolean;
}

/** What every command gets: where to write, the AWS clients and the stack it operates on. */
export interface CliContext {
  readonly io: Io;
  /** Aborted by Ctrl-C / SIGTERM: long commands stop cleanly. */
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  globals(): GlobalOptions;
  clients(): AwsClients;
  /** The stack's queues, outputs and resources (read once per run). */
  inventory(): Promise<StackInventory>;
  /** Prints `text` for people, or `json` as JSON with `--json`. */
  emit(result: { readonly text: string; readonly json: unknown }): void;
  /** Sets the exit code the run ends with (a failure that still printed a result). */
  fail(code: number): void;
}

/**
 * A `spool` command group. Each module registers its subcommands on the program; a new
 * capability (jobs, schedules, backfill) adds a module to `commands/index.ts`.
 */
export interface SpoolCommand {
  register(program: Command, context: CliContext): void;
}

export interface RunOptions {
  readonly io?: Io;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
}

/** Builds the program: global options plus every registered command. */
export function createProgram(context: CliContext): Command {
  const program = new Command("spool")
    .description(
      "Operate a Spool stack: queue status, dead letters and replays, pausing consumers, jobs, schedules and backfills. Talks to AWS through your normal credentials, or to the emulator at AWS_ENDPOINT_URL. spool add copies Spool's constructs into your own CDK app.",
    )
    .option("--stack <name>", "the CloudFormation stack to operate on", "Spool")
    .option("--region <region>", "AWS region (default: AWS_REGION or your profile's)")
    .option("--json", "print results as JSON instead of tables", false)
    .version(version(), "-V, --version", "print Spool's version")
    // Every subcommand's help lists --json, --stack and --region too: they apply everywhere.
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.io.stdout.write(text),
      writeErr: (text) => context.io.stderr.write(text),
      // One line: what was wrong, and where usage is (commander's "Did you mean" joins it).
      outputError: (text, write) =>
        write(
          `spool: ${text
            .trim()
            .replace(/^error: /, "")
            .replace(/\s*\n\s*/g, " ")} (see spool --help)\n`,
        ),
    });
  for (const command of commands) command.register(program, context);
  program.addHelpText("after", () => `\nEvery command:\n${commandList(program)}\n`);
  return program;
}

/** "  spool dlq list <queue>   list a queue's dead letters…" for every leaf command. */
function commandList(program: Command): string {
  const lines: [string, string][] = [];
  const walk = (command: Command, prefix: string) => {
    for (const sub of command.commands) {
      if (sub.name() === "help") continue;
      const usage = `${prefix} ${sub.name()}`;
      if (sub.commands.length) walk(sub, usage);
      else {
        const args = sub.registeredArguments
          .map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`))
          .join(" ");
        lines.push([`${usage}${args ? ` ${args}` : ""}`, sub.description()]);
      }
    }
  };
  walk(program, "spool");
  const width = Math.max(...lines.map(([u]) => u.length));
  return lines.map(([u, d]) => `  ${u.padEnd(width)}  ${d}`).join("\n");
}

/** Runs `spool <argv>` and resolves to its exit code; never throws, never exits the process. */
export async function runSpool(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const env = options.env ?? process.env;
  let program: Command | undefined;
  let aws: typeof import("./lib/aws.js") | undefined;
  let clients: AwsClients | undefined;
  let inventory: Promise<StackInventory> | undefined;
  let exitCode = 0;
  const globals = (): GlobalOptions => {
    const o = program?.opts() ?? {};
    return { stack: o.stack ?? "Spool", region: o.region, json: o.json === true };
  };
  const context: CliContext = {
    io,
    signal: options.signal ?? new AbortController().signal,
    env,
    globals,
    clients() {
      if (!aws) throw new Error("the AWS clients are loaded before a command runs (preAction)");
      clients ??= new aws.AwsClients(resolveTarget({ region: globals().region }, env));
      return clients;
    },
    inventory() {
      inventory ??= loadInventory(context.clients(), globals().stack, {
        cacheDir: templateCacheDir(env),
      });
      return inventory;
    },
    emit(result) {
      if (globals().json) io.stdout.write(`${JSON.stringify(result.json, null, 2)}\n`);
      else io.stdout.write(`${result.text}\n`);
    },
    fail(code) {
      exitCode = Math.max(exitCode, code);
    },
  };
  program = createProgram(context);
  // The SDK is loaded once a command is about to run, never to parse arguments or print help:
  // that keeps `spool --help` and a usage error fast, and clients() stays synchronous.
  program.hook("preAction", async () => {
    aws ??= await import("./lib/aws.js");
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; everything else it throws is a bad argument
      // (unknown command or option, missing or malformed argument), which exits 2.
      return ANSWERED.has(error.code) ? EXIT.ok : EXIT.usage;
    }
    const target = clients?.target ?? resolveTarget({ region: globals().region }, env);
    io.stderr.write(
      `spool: ${describeError(error, { endpoint: target.endpoint, region: target.region, stack: globals().stack })}\n`,
    );
    const code = (error as { exitCode?: unknown }).exitCode;
    return typeof code === "number" ? code : 1;
  }
}
