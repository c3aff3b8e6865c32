import type { Io } from "./io.js";

/**
 * Progress of a long operation on stderr (stdout stays for the result, so `--json` output is
 * clean): a line redrawn in place on a terminal, a line every few seconds otherwise.
 */
export class Progress {
  readonly #io: Io;
  readonly #label: string;
  readonly #now: () => number;
  readonly #startedAt: number;
  #total: number | undefined;
  #done = 0;
  #lastPrintAt = 0;
  #drawn = false;

  constructor(io: Io, label: string, options: { total?: number; now?: () => number } = {}) {
    this.#io = io;
    this.#label = label;
    this.#now = options.now ?? (() => Date.now());
    this.#startedAt = this.#now();
    this.#total = options.total;
  }

  set total(total: number | undefined) {
    this.#total = total;
  }

  /**
   * Counts `n` more units done and redraws: on a terminal after the first second, at most every
   * 200 ms; otherwise a line every 2 s.
   */
  tick(n = 1, note = ""): void {
    this.#done += n;
    const now = this.#now();
    const tty = this.#io.stderr.isTTY === true;
    // Quick operations print no progress at all; slow ones redraw now and then.
    if (now - this.#startedAt < (tty ? 1_000 : 2_000)) return;
    if (now - this.#lastPrintAt < (tty ? 200 : 2_000)) return;
    this.#lastPrintAt = now;
    const line = this.line(note);
    if (tty) {
      this.#io.stderr.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else {
      this.#io.stderr.write(`${line}\n`);
    }
  }

  /** "moved 12/40 · 3.0/s · ETA 9 s" */
  line(note = ""): string {
    const elapsed = (this.#now() - this.#startedAt) / 1000;
    const rate = elapsed > 0 ? this.#done / elapsed : 0;
    const total = this.#total !== undefined ? `/${Math.max(this.#total, this.#done)}` : "";
    const remaining = this.#total !== undefined ? Math.max(0, this.#total - this.#done) : undefined;
    const eta =
      remaining !== undefined && rate > 0 ? ` · ETA ${Math.ceil(remaining / rate)} s` : "";
    return `${this.#label} ${this.#done}${total} · ${rate.toFixed(1)}/s${eta}${note ? ` · ${note}` : ""}`;
  }

  get done(): number {
    return this.#done;
  }

  /** Clears the redrawn line. */
  end(): void {
    if (this.#drawn) this.#io.stderr.write("\r\x1b[2K");
    this.#drawn = false;
  }
}
