/**
 * A token bucket: `take()` resolves when a token is available. Tokens refill continuously at
 * `ratePerSecond`, up to `burst` (1 by default, so the flow is evenly spaced and never exceeds
 * the rate over any window), whoever takes them. Hand-written: it is twenty lines, and the clock and sleep must be
 * injectable for tests.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #updatedAt: number;

  constructor(options: {
    ratePerSecond: number;
    burst?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
  }) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
      throw new Error(`ratePerSecond must be a positive number, got ${options.ratePerSecond}`);
    }
    this.ratePerSecond = options.ratePerSecond;
    this.burst = Math.max(1, options.burst ?? 1);
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#tokens = this.burst;
    this.#updatedAt = this.#now();
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + ((now - this.#updatedAt) / 1000) * this.ratePerSecond,
    );
    this.#updatedAt = now;
  }

  /**
   * Takes a token, waiting for it when there is none. A taker that finds none reserves the next
   * one (the count goes below zero) and sleeps until it is due, so several takers at once (the
   * replay's pipelines) queue up one token apart, never closer, and none is lost to rounding.
   */
  async take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.#refill();
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    // Whole milliseconds, rounded up: timers round fractions down and would wake a send early.
    await this.#sleep(Math.ceil((-this.#tokens / this.ratePerSecond) * 1000 - 1e-9));
    if (signal?.aborted) {
      // Not used: give it back, so the takers queued behind it do not wait for nothing.
      this.#tokens += 1;
      throw signal.reason;
    }
  }
}

/** "5", "5/s", "0.5/s", "300/m" → messages per second. */
export function parseRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:\/(s|m|min))?$/.exec(text.trim());
  const value = match ? Number(match[1]) : Number.NaN;
  if (!match || !(value > 0)) {
    throw new Error(
      `--rate must be a positive number per second like 5, 5/s or 300/m, got "${text}"`,
    );
  }
  return match[2] === "m" || match[2] === "min" ? value / 60 : value;
}
