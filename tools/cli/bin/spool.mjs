#!/usr/bin/env node
// The `spool` operator CLI. Runs the compiled CLI (tools/cli/build.ts) when a build of the
// current sources exists, else builds it first; if it cannot be built, registers tsx and runs the
// TypeScript as it is. Always in this process (no child process), so the PID that runs the
// command is this one and Ctrl-C reaches it.
import { fileURLToPath, pathToFileURL } from "node:url";
import { currentBuild } from "./compiled.mjs";

// On Node 20 (which Spool supports) the AWS SDK prints a multi-line notice about its own future
// Node requirement before the first call: noise on every command, and it breaks "errors are one
// line". It is meant for whoever upgrades the SDK, not for an operator; they can still opt in.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const projectDir = fileURLToPath(new URL("../../../", import.meta.url));
const entry = currentBuild(projectDir) ?? (await buildOrRunSources());
if (entry) await import(pathToFileURL(entry).href);

/**
 * Builds the CLI and resolves to its entry; or, when it cannot be built (esbuild missing, a
 * read-only install, a bundling error), says so in one line, runs the TypeScript through tsx and
 * resolves to undefined.
 */
async function buildOrRunSources() {
  const { register } = await import("tsx/esm/api");
  register();
  try {
    const { buildCli } = await import("../build.ts");
    return (await buildCli(projectDir)).entry;
  } catch (error) {
    const why = String(error?.message ?? error).split("\n")[0];
    process.stderr.write(
      `spool: the compiled CLI could not be built (${why}); running the sources, slower (npx tsx tools/cli/build.ts to retry)\n`,
    );
    await import("../main.ts");
    return undefined;
  }
}
