/**
 * Terminal output for the demo and the CLI: numbered steps, results, and a live progress line
 * for anything slower than a second (plain lines when the output is not a terminal).
 */
const tty = process.stdout.isTTY === true;
const color = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
export const bold = color(1);
export const dim = color(2);
export const green = color(32);
export const red = color(31);
export const yellow = color(33);
export const cyan = color(36);

let stepNumber = 0;

export function step(title: string): void {
  stepNumber++;
  process.stdout.write(`\n${bold(cyan(`${stepNumber}.`))} ${bold(title)}\n`);
}

export function say(text: string): void {
  for (const line of text.split("\n")) process.stdout.write(`   ${line}\n`);
}

export function ok(text: string): void {
  process.stdout.write(`   ${green("✔")} ${text}\n`);
}

export function bad(text: string): void {
  process.stdout.write(`   ${red("✘")} ${text}\n`);
}

/**
 * Polls `probe` until it returns a value, showing elapsed time while it waits.
 * Throws with `what` at the deadline.
 */
export async function waitWithProgress<T>(
  what: string,
  probe: () => Promise<T | undefined | false | null>,
  timeoutMs = 60_000,
  intervalMs = 300,
): Promise<{ value: T; elapsedMs: number }> {
  const started = Date.now();
  let lastPrint = 0;
  while (Date.now() - started < timeoutMs) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) {
      if (tty && lastPrint) process.stdout.write("\r\x1b[2K");
      return { value, elapsedMs: Date.now() - started };
    }
    const elapsed = Date.now() - started;
    if (elapsed > 1_000) {
      if (tty) {
        process.stdout.write(`\r\x1b[2K   ${dim(`… ${what} (${(elapsed / 1000).toFixed(1)} s)`)}`);
        lastPrint = elapsed;
      } else if (elapsed - lastPrint >= 5_000) {
        process.stdout.write(`   … ${what} (${(elapsed / 1000).toFixed(0)} s)\n`);
        lastPrint = elapsed;
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  if (tty && lastPrint) process.stdout.write("\r\x1b[2K");
  throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}`);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A plain table: header row, then rows, columns padded to fit. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [bold(line(header)), ...cells.slice(1).map(line)].join("\n");
}
