import { AsyncLocalStorage } from "node:async_hooks";
import type { SQSRecord } from "aws-lambda";
import { PermanentError, TransientError } from "./errors.js";
import { FAULT_INJECTION_ENABLED, FAULT_INJECTION_ENV } from "./fault-switch.js";

/**
 * Fault injection for test deployments.
 *
 * It can never run in a real AWS account, by two independent locks:
 * 1. the CDK app sets `SPOOL_FAULT_INJECTION=enabled` only when it synthesizes for the local
 *    emulator account (see `lib/example/spool-stack.ts (testHooks)`), and
 * 2. this module stays off unless `AWS_ENDPOINT_URL` points at a loopback address, which only an
 *    emulator injects: a function in AWS has no such variable, and could not reach one anyway.
 */

/** A per-message directive, e.g. `transient:2` (fail the first two deliveries), `permanent`. */
export const FAULT_ATTRIBUTE = "spool-fault";

/**
 * Per-message random fault rates (JSON `FaultRates`), so a chaos run can stress its own messages
 * while other traffic on the same deployment runs clean.
 */
export const FAULT_RATES_ATTRIBUTE = "spool-fault-rates";

export interface FaultRates {
  /** Share of records (0–100) that fail with an injected TransientError. */
  readonly transientPercent: number;
  /** Share of records that stall until the function times out. */
  readonly timeoutPercent: number;
  /** Share of DynamoDB calls that fail with a throttling error. */
  readonly dynamoErrorPercent: number;
  /** Share of records that are slowed down by `slowMs`. */
  readonly slowPercent: number;
  readonly slowMs: number;
  /**
   * Epoch milliseconds after which these rates stop applying (the record runs clean): a
   * dependency degraded for a window, then recovered (the chaos check's retry storm). The
   * emulator's functions share the host clock, so the sender's window is the handler's.
   * Unset: the rates always apply.
   */
  readonly untilEpochMs?: number;
}

export const NO_FAULTS: FaultRates = {
  transientPercent: 0,
  timeoutPercent: 0,
  dynamoErrorPercent: 0,
  slowPercent: 0,
  slowMs: 0,
};

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export function isLoopbackEndpoint(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const { hostname } = new URL(url);
    return (
      LOOPBACK_HOSTS.has(hostname) ||
      /^127(\.\d{1,3}){3}$/.test(hostname) ||
      hostname.endsWith(".localhost.localstack.cloud") ||
      hostname === "localhost.localstack.cloud"
    );
  } catch {
    return false;
  }
}

function rate(value: unknown, name: string): number {
  const n = Number(value ?? 0);
  if (!Number.isFinite(n) || n < 0 || n > 100) {
    throw new Error(
      `fault injection: ${name} must be a percentage from 0 to 100, got ${String(value)}`,
    );
  }
  return n;
}

function epochMs(value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n)) {
    throw new Error(
      `fault injection: untilEpochMs must be epoch milliseconds, got ${String(value)}`,
    );
  }
  return n;
}

export function parseFaultRates(json: string | undefined): FaultRates {
  if (!json) return NO_FAULTS;
  const raw = JSON.parse(json) as Record<string, unknown>;
  return {
    transientPercent: rate(raw.transientPercent, "transientPercent"),
    timeoutPercent: rate(raw.timeoutPercent, "timeoutPercent"),
    dynamoErrorPercent: rate(raw.dynamoErrorPercent, "dynamoErrorPercent"),
    slowPercent: rate(raw.slowPercent, "slowPercent"),
    slowMs: Math.max(0, Number(raw.slowMs ?? 0)),
    ...(raw.untilEpochMs === undefined ? {} : { untilEpochMs: epochMs(raw.untilEpochMs) }),
  };
}

export interface FaultInjectorOptions {
  readonly rates: FaultRates;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A throttling error shaped like the one the AWS SDK raises, so the consumer treats it alike. */
export class InjectedThrottlingError extends Error {
  override readonly name = "ProvisionedThroughputExceededException";
  readonly $fault = "client";
  readonly $metadata = { httpStatusCode: 400 };
  constructor() {
    super("injected DynamoDB throttling (fault injection)");
  }
}

export class FaultInjector {
  readonly rates: FaultRates;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  /** The rates of the record being processed, so DynamoDB calls made for it see them. */
  readonly #current = new AsyncLocalStorage<FaultRates>();
  /** How long the record being processed holds its effect's commit (`stall-commit`), if at all. */
  readonly #commitStall = new AsyncLocalStorage<() => number>();

  constructor(options: FaultInjectorOptions) {
    this.rates = options.rates;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#now = options.now ?? Date.now;
  }

  #hit(percent: number): boolean {
    return percent > 0 && this.#random() * 100 < percent;
  }

  /** The rates that apply to a record: its own attribute, else the process-wide ones. */
  ratesFor(record: Pick<SQSRecord, "messageAttributes">): FaultRates {
    const own = record.messageAttributes?.[FAULT_RATES_ATTRIBUTE]?.stringValue;
    const rates = own ? parseFaultRates(own) : this.rates;
    // Read once per record, so a delivery straddling the end of a window is wholly in or out.
    return rates.untilEpochMs !== undefined && this.#now() >= rates.untilEpochMs
      ? NO_FAULTS
      : rates;
  }

  /**
   * Runs `work` for a record under fault injection: first its directive and random faults, then
   * the work itself with the record's DynamoDB fault rate in effect.
   */
  async runRecord<T>(
    record: Pick<SQSRecord, "messageAttributes">,
    attempt: number,
    remainingMs: () => number,
    work: () => Promise<T>,
  ): Promise<T> {
    const rates = this.ratesFor(record);
    const stall = commitStallOf(record, attempt, remainingMs);
    return this.#current.run(rates, async () => {
      await this.#before(record, rates, attempt, remainingMs);
      return stall ? this.#commitStall.run(stall, work) : work();
    });
  }

  /**
   * Holds a DynamoDB transaction (an effect's commit, effect-fence.ts) of a record whose
   * directive says `stall-commit`, until just before its function times out: past the record
   * deadline, so the record is given up while its step still runs and commits afterwards.
   */
  async holdCommit(commandName: string): Promise<void> {
    const stall = this.#commitStall.getStore();
    if (stall && /^TransactWrite/.test(commandName)) await this.#sleep(stall());
  }

  /** Applies a record's directive, then the random rates (without running any work). */
  beforeRecord(
    record: Pick<SQSRecord, "messageAttributes">,
    attempt: number,
    remainingMs: () => number,
  ): Promise<void> {
    return this.#before(record, this.ratesFor(record), attempt, remainingMs);
  }

  async #before(
    record: Pick<SQSRecord, "messageAttributes">,
    rates: FaultRates,
    attempt: number,
    remainingMs: () => number,
  ) {
    // Several directives may be given, comma-separated ("transient:4,stall-commit:5").
    const directives = record.messageAttributes?.[FAULT_ATTRIBUTE]?.stringValue?.split(",") ?? [];
    for (const directive of directives) await this.#apply(directive, attempt, remainingMs);
    if (this.#hit(rates.transientPercent)) {
      throw new TransientError("injected transient failure", { code: "INJECTED_TRANSIENT" });
    }
    if (this.#hit(rates.timeoutPercent)) await this.#sleep(remainingMs() + 1_000);
    if (this.#hit(rates.slowPercent)) await this.#sleep(rates.slowMs);
  }

  async #apply(directive: string, attempt: number, remainingMs: () => number) {
    const [kind, arg] = directive.split(":");
    switch (kind) {
      case "transient": {
        const failures = Number(arg ?? 1);
        if (attempt <= failures) {
          throw new TransientError(`injected transient failure ${attempt} of ${failures}`, {
            code: "INJECTED_TRANSIENT",
          });
        }
        return;
      }
      case "permanent":
        throw new PermanentError("injected permanent failure", { code: "INJECTED_PERMANENT" });
      case "timeout":
        if (attempt <= Number(arg ?? 1)) await this.#sleep(remainingMs() + 1_000);
        return;
      case "slow":
        await this.#sleep(Number(arg ?? 1_000));
        return;
      case "stall-commit":
        return; // applied to the step's commit (holdCommit), not before the record

      default:
        throw new PermanentError(`unknown fault directive ${JSON.stringify(directive)}`, {
          code: "INJECTED_UNKNOWN",
        });
    }
  }

  /** Throws an injected throttling error for the share of DynamoDB calls the current record asks. */
  maybeFailDynamoCall(): void {
    const rates = this.#current.getStore() ?? this.rates;
    if (this.#hit(rates.dynamoErrorPercent)) throw new InjectedThrottlingError();
  }
}

/**
 * `stall-commit:N`: from delivery N on, the record's effect commit waits until 100 ms before the
 * function's timeout (after the record deadline, record-deadline.ts, which keeps at least 200 ms).
 */
function commitStallOf(
  record: Pick<SQSRecord, "messageAttributes">,
  attempt: number,
  remainingMs: () => number,
): (() => number) | undefined {
  const directives = record.messageAttributes?.[FAULT_ATTRIBUTE]?.stringValue?.split(",") ?? [];
  const stall = directives.find((d) => d.startsWith("stall-commit"));
  if (!stall || attempt < Number(stall.split(":")[1] ?? 1)) return undefined;
  return () => Math.max(0, remainingMs() - 100);
}

/**
 * The injector for this process, or undefined when fault injection is off (always, outside an
 * emulator). A request to enable it against a non-loopback endpoint is refused loudly.
 */
export function faultInjectorFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): FaultInjector | undefined {
  // A third lock, at build time: a production bundle has this replaced by "false" (see
  // fault-switch.ts), so this returns at once and esbuild leaves the injector out of the bundle.
  // Written out in full: esbuild's define matches the literal expression only.
  if (process.env.SPOOL_FAULT_INJECTION_BUNDLED === "false") return undefined;
  if (env[FAULT_INJECTION_ENV] !== FAULT_INJECTION_ENABLED) return undefined;
  if (!isLoopbackEndpoint(env.AWS_ENDPOINT_URL)) {
    console.error(
      JSON.stringify({
        level: "ERROR",
        message:
          "SPOOL_FAULT_INJECTION is set but AWS_ENDPOINT_URL is not a local emulator: fault injection stays off",
      }),
    );
    return undefined;
  }
  return new FaultInjector({ rates: parseFaultRates(env.SPOOL_FAULT_RATES) });
}
