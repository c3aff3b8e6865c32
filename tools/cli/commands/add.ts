import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { closureOf, LIBRARY_DIR, readCatalog } from "../lib/closure.js";
import { applyCopy, installCommands, planCopy } from "../lib/copy.js";
import { SpoolCliError } from "../lib/errors.js";
import type { CliContext, SpoolCommand } from "../spool.js";

/** Where constructs go in an app unless --dir says otherwise. */
export const DEFAULT_DIR = "lib/spool";

function listConstructs(context: CliContext): void {
  const catalog = readCatalog();
  const names = Object.keys(catalog.constructs);
  const width = Math.max(...names.map((n) => n.length));
  context.emit({
    text: names
      .map((name) => `${name.padEnd(width)}  ${catalog.constructs[name]?.summary ?? ""}`)
      .join("\n"),
    json: names.map((name) => ({ name, ...catalog.constructs[name] })),
  });
}

function add(context: CliContext, names: string[], dir: string, app: string): void {
  const appDir = resolve(app);
  if (!existsSync(join(appDir, "cdk.json")) || !existsSync(join(appDir, "package.json"))) {
    throw new SpoolCliError(
      `no CDK app here (${appDir} has no cdk.json and package.json): run spool add in your app's folder`,
    );
  }
  if (resolve(appDir, dir).startsWith(resolve(LIBRARY_DIR, ".."))) {
    throw new SpoolCliError(`refusing to copy Spool into itself (${resolve(appDir, dir)})`);
  }
  const plan = planCopy(
    names.map((name) => closureOf(name)),
    appDir,
    dir,
  );
  const conflicts = plan.files.filter((f) => f.action === "conflict");
  if (conflicts.length) {
    const where = relative(appDir, plan.targetDir) || ".";
    context.io.stderr.write(
      conflicts
        .map(
          (f) =>
            `spool: ${where}/${f.path} was changed since spool add wrote it; not overwritten\n`,
        )
        .join(""),
    );
    throw new SpoolCliError(
      `nothing copied: ${conflicts.length} file(s) in ${where} differ from Spool's (move your changes aside, or delete the file to take Spool's)`,
    );
  }
  applyCopy(plan);

  const count = (action: string) => plan.files.filter((f) => f.action === action).length;
  const where = relative(appDir, plan.targetDir) || ".";
  const install = installCommands(plan.missing);
  const lines = [
    `${names.join(", ")} → ${where}/ (${plan.moduleSystem}): ${count("new")} new, ${count("update")} updated, ${count("unchanged")} unchanged`,
    ...(install.length
      ? ["", "Add the npm dependencies it needs:", ...install.map((l) => `  ${l}`)]
      : ["", "Every npm dependency it needs is in your package.json already."]),
    "",
    `Read ${where}/${names[0]}/README.md for how to use it.`,
  ];
  context.emit({
    text: lines.join("\n"),
    json: {
      constructs: names,
      directory: where,
      moduleSystem: plan.moduleSystem,
      files: plan.files.map(({ path, action }) => ({ path, action })),
      missingDependencies: plan.missing,
      install,
    },
  });
}

/** `spool add <construct...> [--dir <path>]` and `spool add --list`. */
export const addCommand: SpoolCommand = {
  register(program: Command, context: CliContext) {
    const known = () => Object.keys(readCatalog().constructs);
    program
      .command("add")
      .description(
        "copy constructs, with everything they need, into the CDK app in this folder (--list: the constructs)",
      )
      .argument("[construct...]", "constructs to add (see --list)")
      .option("--dir <path>", "where in the app they go", DEFAULT_DIR)
      .option("--app <folder>", "the CDK app to add them to", ".")
      .option("--list", "list the constructs, one line each", false)
      .action((names: string[], options: { dir: string; app: string; list: boolean }) => {
        if (options.list) return listConstructs(context);
        if (!names.length) {
          throw new SpoolCliError("name a construct to add, or use --list", 2);
        }
        const unknown = names.filter((n) => !known().includes(n));
        if (unknown.length) {
          throw new SpoolCliError(
            `unknown construct ${unknown.map((n) => `"${n}"`).join(", ")}; known: ${known().join(", ")}`,
            2,
          );
        }
        add(context, names, options.dir, options.app);
      });
  },
};
