import { bufferIo } from "../../cli/lib/io.js";
import { runSpool } from "../../cli/spool.js";
import { localEndpoint } from "../lib/local-cloud.js";
import { bold, dim, say } from "../lib/narrate.js";

/** Runs the real `spool` CLI in this process against the local emulator and shows its output. */
export async function spool(...argv: string[]): Promise<{ out: string; json: unknown }> {
  const io = bufferIo();
  say(bold(`$ npx spool ${argv.map((a) => (/[\s'"=]/.test(a) ? `"${a}"` : a)).join(" ")}`));
  const code = await runSpool(argv, {
    io,
    env: { ...process.env, AWS_ENDPOINT_URL: localEndpoint() },
  });
  if (code !== 0) throw new Error(`spool ${argv.join(" ")} failed: ${io.err().trim()}`);
  if (!argv.includes("--json")) say(dim(io.out().trimEnd()));
  let json: unknown;
  try {
    json = JSON.parse(io.out());
  } catch {
    json = undefined;
  }
  return { out: io.out(), json };
}
