import { bufferIo } from "../../tools/cli/lib/io.js";
import { runSpool } from "../../tools/cli/spool.js";

/** No emulator listens on port 9: an AWS call not mocked fails fast instead of reaching anything. */
export const OFFLINE = { AWS_ENDPOINT_URL: "http://127.0.0.1:9" };

/**
 * Runs `spool <argv>` in this process, offline, and returns its exit code, what it printed, and
 * stdout as JSON when it is JSON (`--json`).
 */
export async function spool(...argv: string[]) {
  const io = bufferIo();
  const code = await runSpool(argv, { io, env: OFFLINE });
  let json: unknown;
  try {
    json = JSON.parse(io.out());
  } catch {
    json = undefined;
  }
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape the command printed
  return { code, out: io.out(), err: io.err(), json: json as any };
}
