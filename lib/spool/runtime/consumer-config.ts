/**
 * What the QueueConsumer construct writes into its function's environment and the consumer reads
 * back. SDK-free: the construct imports the names at synth time, the handler reads them at init
 * (a malformed value throws there, naming the variable).
 */
import {
  assertBackoffPolicy,
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
} from "./backoff.js";
import { ConfigurationError, intEnv, optionalEnv } from "./env.js";
import {
  CONSUMER_NAME_ENV,
  JOBS_ENV,
  type JobTrackingConfig,
  jobTrackingConfig,
} from "./job-port.js";
import { PAYLOAD_BUCKET_ENV } from "./payload-switch.js";
import { decodeKeySelector, MAX_PER_SECOND, type RateLimitPolicy } from "./rate-limit-policy.js";
import {
  DEFAULT_TENANT_RETRY_AFTER_SECONDS,
  MAX_IN_FLIGHT_PER_TENANT,
  type TenantFairnessPolicy,
} from "./tenant-fairness-policy.js";

export { JOB_KIND_PATTERN, type JobTrackingConfig } from "./job-port.js";

/** The environment variables of a queue consumer. */
export const CONSUMER_ENV = {
  consumerName: CONSUMER_NAME_ENV,
  deadLetterQueueUrl: "SPOOL_DEAD_LETTER_QUEUE_URL",
  maxReceiveCount: "SPOOL_MAX_RECEIVE_COUNT",
  backoffBaseSeconds: "SPOOL_BACKOFF_BASE_SECONDS",
  backoffCapSeconds: "SPOOL_BACKOFF_CAP_SECONDS",
  idempotencyTable: "SPOOL_IDEMPOTENCY_TABLE",
  idempotencyTtlSeconds: "SPOOL_IDEMPOTENCY_TTL_SECONDS",
  heartbeatEverySeconds: "SPOOL_HEARTBEAT_EVERY_SECONDS",
  heartbeatExtendBySeconds: "SPOOL_HEARTBEAT_EXTEND_BY_SECONDS",
  rateLimitPerSecond: "SPOOL_RATE_LIMIT_PER_SECOND",
  rateLimitBurst: "SPOOL_RATE_LIMIT_BURST",
  rateLimitKey: "SPOOL_RATE_LIMIT_KEY",
  tenantMaxInFlight: "SPOOL_TENANT_MAX_IN_FLIGHT",
  tenantRetryAfterSeconds: "SPOOL_TENANT_RETRY_AFTER_SECONDS",
  holdGroupOnDeadLetter: "SPOOL_HOLD_GROUP_ON_DEAD_LETTER",
  ...JOBS_ENV,
  payloadBucket: PAYLOAD_BUCKET_ENV,
} as const;

/** How long a completed idempotency key suppresses duplicates when nothing says otherwise. */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

export interface ConsumerConfig {
  /** Used as the idempotency key prefix and in dead-letter metadata. */
  readonly consumerName: string;
  /** Where permanent failures and exhausted retries go, with their metadata. */
  readonly deadLetterQueueUrl: string | undefined;
  /** The source queue's maxReceiveCount: the attempt on which Spool dead-letters itself. */
  readonly maxReceiveCount: number | undefined;
  readonly backoff: BackoffPolicy;
  readonly idempotencyTable: string | undefined;
  readonly idempotencyTtlSeconds: number;
  /** Undefined: no heartbeat, a record stays hidden for the queue's visibility timeout only. */
  readonly heartbeat?: HeartbeatPolicy | undefined;
  /** Undefined: no rate limit (see rate-limit.ts). */
  readonly rateLimit?: RateLimitPolicy | undefined;
  /** Undefined: no per-tenant in-flight quota (see tenant-quota.ts). */
  readonly tenantFairness?: TenantFairnessPolicy | undefined;
  /** Undefined: no job tracking (see job-tracking.ts). */
  readonly jobs?: JobTrackingConfig | undefined;
  /** The PayloadStore bucket claim-check pointers are read from; undefined: none is resolved. */
  readonly payloadBucket?: string | undefined;
  /** FIFO: hold a group whose record was dead-lettered until a replay (group-hold.ts); unset: off. */
  readonly holdGroupOnDeadLetter?: boolean;
}

/** How a consumer keeps the records it holds hidden while they run (see heartbeat.ts). */
export interface HeartbeatPolicy {
  /** Seconds between extensions. */
  readonly everySeconds: number;
  /** Seconds from each extension the record stays hidden; more than everySeconds. */
  readonly extendBySeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the configuration the QueueConsumer construct writes into the function's environment.
 * Everything is optional (a handler also runs outside the construct, e.g. in tests), but what is
 * set must be well-formed.
 */
export function consumerConfigFromEnv(env: Env = process.env): ConsumerConfig {
  const seconds = (name: string, fallback: number) =>
    intEnv(name, { min: 0, max: MAX_VISIBILITY_TIMEOUT_SECONDS, fallback }, env);
  const base = seconds(CONSUMER_ENV.backoffBaseSeconds, DEFAULT_BACKOFF.baseSeconds);
  const cap = seconds(CONSUMER_ENV.backoffCapSeconds, DEFAULT_BACKOFF.capSeconds);
  return {
    consumerName:
      optionalEnv(CONSUMER_ENV.consumerName, env) ??
      optionalEnv("AWS_LAMBDA_FUNCTION_NAME", env) ??
      "spool-consumer",
    deadLetterQueueUrl: optionalEnv(CONSUMER_ENV.deadLetterQueueUrl, env),
    maxReceiveCount:
      optionalEnv(CONSUMER_ENV.maxReceiveCount, env) === undefined
        ? undefined
        : intEnv(CONSUMER_ENV.maxReceiveCount, { min: 1 }, env),
    backoff: backoffPolicy(base, cap),
    idempotencyTable: optionalEnv(CONSUMER_ENV.idempotencyTable, env),
    idempotencyTtlSeconds: intEnv(
      CONSUMER_ENV.idempotencyTtlSeconds,
      { min: 1, fallback: DEFAULT_IDEMPOTENCY_TTL_SECONDS },
      env,
    ),
    heartbeat: heartbeatPolicy(env),
    rateLimit: rateLimitPolicy(env),
    tenantFairness: tenantFairnessPolicy(env),
    jobs: jobTrackingConfig(env),
    payloadBucket: optionalEnv(CONSUMER_ENV.payloadBucket, env),
    ...(holdGroupOnDeadLetter(env) ? { holdGroupOnDeadLetter: true } : {}),
  };
}

/** "true" or "false" (or unset: false); a hold needs the idempotency table its items live in. */
function holdGroupOnDeadLetter(env: Env): boolean {
  const name = CONSUMER_ENV.holdGroupOnDeadLetter;
  const raw = optionalEnv(name, env);
  if (raw === undefined || raw === "false") return false;
  if (raw !== "true")
    throw new ConfigurationError(`${name} must be "true" or "false", got "${raw}"`);
  if (optionalEnv(CONSUMER_ENV.idempotencyTable, env) === undefined) {
    throw new ConfigurationError(
      `${name} needs ${CONSUMER_ENV.idempotencyTable} (the holds are kept there), and it is not set`,
    );
  }
  return true;
}

/** Both variables or neither; an extension must outlast the wait for the next one. */
function heartbeatPolicy(env: Env): HeartbeatPolicy | undefined {
  const every = CONSUMER_ENV.heartbeatEverySeconds;
  const extendBy = CONSUMER_ENV.heartbeatExtendBySeconds;
  if (optionalEnv(every, env) === undefined && optionalEnv(extendBy, env) === undefined) {
    return undefined;
  }
  const range = { min: 1, max: MAX_VISIBILITY_TIMEOUT_SECONDS };
  const policy = {
    everySeconds: intEnv(every, range, env),
    extendBySeconds: intEnv(extendBy, range, env),
  };
  if (policy.everySeconds >= policy.extendBySeconds) {
    throw new ConfigurationError(
      `${every} must be less than ${extendBy} (${policy.extendBySeconds}), got ${policy.everySeconds}`,
    );
  }
  return policy;
}

/** The rate and burst together or neither; the key only with them. */
function rateLimitPolicy(env: Env): RateLimitPolicy | undefined {
  const { rateLimitPerSecond: rate, rateLimitBurst: burst, rateLimitKey: key } = CONSUMER_ENV;
  const rawRate = optionalEnv(rate, env);
  const rawKey = optionalEnv(key, env);
  if (rawRate === undefined && optionalEnv(burst, env) === undefined) {
    if (rawKey !== undefined) throw new ConfigurationError(`${key} is set without ${rate}`);
    return undefined;
  }
  const perSecond = Number(rawRate);
  if (rawRate === undefined || !(perSecond > 0 && perSecond <= MAX_PER_SECOND)) {
    throw new ConfigurationError(
      `${rate} must be a number above 0 and at most ${MAX_PER_SECOND}, got ${rawRate ?? "nothing"}`,
    );
  }
  const selector = rawKey === undefined ? undefined : decodeKeySelector(rawKey);
  if (rawKey !== undefined && selector === undefined) {
    throw new ConfigurationError(
      `${key} must be "body:<field path>" or "attribute:<name>", got "${rawKey}"`,
    );
  }
  return { perSecond, burst: intEnv(burst, { min: 1 }, env), key: selector };
}

/** The quota alone or with its retry delay; the delay never alone. */
function tenantFairnessPolicy(env: Env): TenantFairnessPolicy | undefined {
  const { tenantMaxInFlight: max, tenantRetryAfterSeconds: retry } = CONSUMER_ENV;
  if (optionalEnv(max, env) === undefined) {
    if (optionalEnv(retry, env) !== undefined) {
      throw new ConfigurationError(`${retry} is set without ${max}`);
    }
    return undefined;
  }
  return {
    maxInFlightPerTenant: intEnv(max, { min: 1, max: MAX_IN_FLIGHT_PER_TENANT }, env),
    retryAfterMs:
      intEnv(retry, { min: 1, max: 900, fallback: DEFAULT_TENANT_RETRY_AFTER_SECONDS }, env) * 1000,
  };
}

/** Each bound is checked on its own by intEnv; what is left is a cap below the base. */
function backoffPolicy(baseSeconds: number, capSeconds: number): BackoffPolicy {
  try {
    return assertBackoffPolicy({ baseSeconds, capSeconds });
  } catch (error) {
    throw new ConfigurationError(
      `${CONSUMER_ENV.backoffCapSeconds}, ${CONSUMER_ENV.backoffBaseSeconds}: ${(error as Error).message}`,
    );
  }
}
