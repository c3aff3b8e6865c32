import { describe, expect, it, vi } from "vitest";
import {
  type BackoffPolicy,
  fullJitterDelaySeconds,
} from "../../../../lib/spool/runtime/backoff.js";
import {
  DEAD_LETTER_REASONS,
  SPOOL_ERROR_CODES,
} from "../../../../lib/spool/runtime/error-codes.js";
import { classify, PermanentError, TransientError } from "../../../../lib/spool/runtime/errors.js";
import {
  completionMatters,
  decideFailure,
  type FailureDecision,
  type FailurePolicyInput,
  MAX_REQUEUES,
  outOfAttempts,
  type RecordFailure,
} from "../../../../lib/spool/runtime/failure-policy.js";
import { groupHoldGuard } from "../../../../lib/spool/runtime/group-hold.js";
import {
  PAYLOAD_SIZE_ATTRIBUTE,
  pointerBody,
  resolveBody,
} from "../../../../lib/spool/runtime/payload-pointer.js";
import { FakePayloadObjects } from "../../../helpers/fake-payload-objects.js";
import { readDoc, tableRows } from "../../../helpers/markdown.js";
import { sqsRecord } from "../../../helpers/sqs.js";

const BACKOFF: BackoffPolicy = { baseSeconds: 2, capSeconds: 300 };
const HALF = () => 0.5;
const LEASE = 30;

function decide(failure: RecordFailure, overrides: Partial<FailurePolicyInput> = {}) {
  return decideFailure({
    failure,
    attempt: 1,
    maxReceiveCount: 5,
    completed: false,
    leaseSeconds: LEASE,
    backoff: BACKOFF,
    random: HALF,
    ...overrides,
  });
}

const jitter = (attempt: number) => fullJitterDelaySeconds(attempt, BACKOFF, HALF);

/** An error as an AWS SDK or Powertools raises it: only its name says what it is. */
function named(name: string): Error {
  return Object.assign(new Error(name), { name });
}

const failures = {
  malformedJson: classify(new PermanentError("not JSON", { code: "MALFORMED_JSON" })),
  schemaViolation: classify(new PermanentError("bad shape", { code: "SCHEMA_INVALID" })),
  businessRule: classify(new PermanentError("order closed", { code: "BAD" })),
  keyReused: classify(named("IdempotencyValidationError")),
  timeout: classify(named("TimeoutError")),
  throttling: classify(named("ThrottlingException")),
  serverError: classify(named("InternalServerError")),
  unknown: classify(new Error("boom")),
  duplicateInProgress: classify(named("IdempotencyAlreadyInProgressError")),
  deadline: classify(new TransientError("too late", { code: "RECORD_DEADLINE" })),
  blockedByGroup: { kind: "transient", code: "BLOCKED_BY_GROUP" },
} satisfies Record<string, RecordFailure>;

/** What a decision means for the batch response: only a retry is reported failed. */
function batchResponse(decision: FailureDecision): "success" | "failure" {
  return decision.action === "retry" ? "failure" : "success";
}

function retryDelay(decision: FailureDecision): number {
  if (decision.action !== "retry") throw new Error(`expected a retry, got ${decision.action}`);
  return decision.delaySeconds;
}

describe("decideFailure", () => {
  it("dead-letters a permanent failure at once, on any attempt, done or not", () => {
    for (const attempt of [1, 3, 5]) {
      for (const completed of [false, true]) {
        expect(decide(failures.schemaViolation, { attempt, completed })).toEqual({
          action: "dead-letter",
          reason: "permanent-failure",
          fallbackDelaySeconds: jitter(attempt),
        });
      }
    }
  });

  it("retries a transient failure with attempts left after the full-jitter backoff", () => {
    expect(decide(failures.unknown, { attempt: 1 })).toEqual({
      action: "retry",
      delaySeconds: jitter(1),
    });
    expect(decide(failures.unknown, { attempt: 4 })).toEqual({ action: "retry", delaySeconds: 8 });
    // Completion is not asked while attempts are left: the next delivery finds the record.
    expect(decide(failures.unknown, { attempt: 4, completed: true }).action).toBe("retry");
  });

  it("draws the delay from random(0, min(cap, base·2^(attempt-1)))", () => {
    for (const attempt of [1, 2, 3, 4, 9, 20]) {
      const ceiling = Math.min(BACKOFF.capSeconds, BACKOFF.baseSeconds * 2 ** (attempt - 1));
      expect(
        retryDelay(decide(failures.timeout, { attempt, maxReceiveCount: 50, random: () => 0 })),
      ).toBe(0);
      expect(
        retryDelay(
          decide(failures.timeout, { attempt, maxReceiveCount: 50, random: () => 0.9999 }),
        ),
      ).toBe(ceiling);
    }
  });

  it("dead-letters a transient failure on the last allowed attempt (retries-exhausted)", () => {
    expect(decide(failures.unknown, { attempt: 5 })).toEqual({
      action: "dead-letter",
      reason: "retries-exhausted",
      fallbackDelaySeconds: jitter(5),
    });
    expect(decide(failures.unknown, { attempt: 6 }).action).toBe("dead-letter");
  });

  it("acknowledges, as a duplicate, an out-of-attempts record whose work is done", () => {
    expect(decide(failures.unknown, { attempt: 5, completed: true })).toEqual({
      action: "acknowledge-duplicate",
    });
  });

  it("never runs out of attempts without a maxReceiveCount (the redrive policy decides)", () => {
    expect(decide(failures.unknown, { attempt: 50, maxReceiveCount: undefined })).toEqual({
      action: "retry",
      delaySeconds: jitter(50),
    });
  });

  it("waits at least as long as the step asks (retryAfterSeconds), within the SQS limit", () => {
    const asking = (retryAfterSeconds: unknown): RecordFailure => ({
      kind: "transient",
      code: "RUN_IN_PROGRESS",
      details: { retryAfterSeconds },
    });
    expect(retryDelay(decide(asking(120)))).toBe(120);
    expect(retryDelay(decide(asking(0.2)))).toBe(Math.max(jitter(1), 1));
    expect(retryDelay(decide(asking(999_999)))).toBe(43_200);
    expect(retryDelay(decide(asking(-5)))).toBe(jitter(1));
    expect(retryDelay(decide(asking("soon")))).toBe(jitter(1));
    // Only a floor: a later attempt's longer backoff wins.
    expect(retryDelay(decide(asking(3), { attempt: 4 }))).toBe(8);
  });

  it("retries a duplicate still in progress no sooner than this invocation's lease", () => {
    expect(retryDelay(decide(failures.duplicateInProgress))).toBe(LEASE);
    expect(retryDelay(decide(failures.duplicateInProgress, { leaseSeconds: 1 }))).toBe(jitter(1));
  });

  it("brings a FIFO record skipped behind its group's head back at once", () => {
    expect(decide(failures.blockedByGroup, { attempt: 3 })).toEqual({
      action: "retry",
      delaySeconds: 0,
    });
    expect(decide(failures.blockedByGroup, { attempt: 5 })).toEqual({
      action: "dead-letter",
      reason: "retries-exhausted",
      fallbackDelaySeconds: 0,
    });
  });

  it("is pure: the same facts give the same decision, with one draw of the jitter at most", () => {
    const random = vi.fn(() => 0.25);
    const first = decide(failures.throttling, { attempt: 3, random });
    expect(random).toHaveBeenCalledTimes(1);
    expect(decide(failures.throttling, { attempt: 3, random })).toEqual(first);
  });
});

describe("completionMatters and outOfAttempts", () => {
  it("asks for the record's completion only for a transient failure out of attempts", () => {
    const facts = (failure: RecordFailure, attempt: number, maxReceiveCount?: number) => ({
      failure,
      attempt,
      maxReceiveCount,
    });
    expect(completionMatters(facts(failures.unknown, 5, 5))).toBe(true);
    expect(completionMatters(facts(failures.unknown, 4, 5))).toBe(false);
    expect(completionMatters(facts(failures.schemaViolation, 5, 5))).toBe(false);
    expect(completionMatters(facts(failures.unknown, 99))).toBe(false);
    expect(outOfAttempts(5, 5)).toBe(true);
    expect(outOfAttempts(4, 5)).toBe(false);
    expect(outOfAttempts(1_000, undefined)).toBe(false);
  });
});

/**
 * The documentation's failure tables, row by row: each row of the failure-handling table in
 * docs/guarantees.md and of the outcome table in lib/spool/runtime/README.md is read from the
 * file and checked against decideFailure. A row added, removed or reworded without its case here
 * (or a decision that changes) fails these tests.
 */

describe("the failure-handling table of docs/guarantees.md", () => {
  const rows = tableRows(readDoc("docs/guarantees.md"), "## What happens to a failed message");
  const max = 5;

  const cases: Record<string, (what: string) => void | Promise<void>> = {
    "Malformed JSON, schema violation, business-rule failure, a business key reused with different content":
      (what) => {
        expect(what).toMatch(/^permanent: sent to the DLQ \*\*at once\*\*/);
        for (const failure of [
          failures.malformedJson,
          failures.schemaViolation,
          failures.businessRule,
          failures.keyReused,
        ]) {
          expect(failure.kind).toBe("permanent");
          // At once: on the first attempt, with attempts left; reported handled (no retry).
          const decision = decide(failure, { attempt: 1 });
          expect(decision).toMatchObject({ action: "dead-letter", reason: "permanent-failure" });
          expect(batchResponse(decision)).toBe("success");
        }
      },
    "A claim-check pointer that cannot resolve (malformed, another bucket than the consumer's store, its object gone or altered since written; for events and delayed tasks too: an outbox event or a task message sent as a pointer)":
      async (what) => {
        expect(what).toMatch(/^permanent: dead-lettered at once \(`PAYLOAD_UNRESOLVABLE`\)/);
        const objects = new FakePayloadObjects();
        const store = { bucket: "payloads", objects };
        const size = { [PAYLOAD_SIZE_ATTRIBUTE]: {} };
        const outcome = (body: string) =>
          resolveBody(body, size, store).then(
            () => undefined,
            (error: unknown) => classify(error),
          );
        for (const body of [
          "[1]",
          pointerBody({ bucket: "elsewhere", key: "k" }),
          pointerBody({ bucket: "payloads", key: "gone" }),
        ]) {
          const failure = await outcome(body);
          expect(failure).toMatchObject({ kind: "permanent", code: "PAYLOAD_UNRESOLVABLE" });
          const decision = decide(failure as RecordFailure, { attempt: 1 });
          expect(decision).toMatchObject({ action: "dead-letter", reason: "permanent-failure" });
        }
        expect(what).toContain("cannot be read right now (throttling, network) is transient");
        objects.failGetsWith = named("SlowDown");
        const throttled = await outcome(pointerBody({ bucket: "payloads", key: "k" }));
        expect(throttled?.kind).toBe("transient");
        expect(batchResponse(decide(throttled as RecordFailure, { attempt: 1 }))).toBe("failure");
      },
    "Timeout, throttling, 5xx, unknown error, a duplicate still in progress": (what) => {
      expect(what).toContain("`random(0, min(cap, base·2^(attempt-1)))`");
      for (const failure of [
        failures.timeout,
        failures.throttling,
        failures.serverError,
        failures.unknown,
      ]) {
        expect(failure.kind).toBe("transient");
        const decision = decide(failure, { attempt: 3 });
        expect(batchResponse(decision)).toBe("failure");
        expect(retryDelay(decision)).toBe(jitter(3));
      }
      expect(failures.duplicateInProgress.kind).toBe("transient");
      expect(what).toContain(
        "a duplicate in progress waits at least for the other attempt's lease",
      );
      expect(retryDelay(decide(failures.duplicateInProgress))).toBe(LEASE);
      expect(what).toContain("`retryAfterSeconds`");
      const asking: RecordFailure = {
        kind: "transient",
        code: "RUN_IN_PROGRESS",
        details: { retryAfterSeconds: 120 },
      };
      expect(retryDelay(decide(asking))).toBe(120);
    },
    "Still failing on the queue's `maxReceiveCount`-th delivery": (what) => {
      const decision = decide(failures.unknown, { attempt: max, maxReceiveCount: max });
      expect(decision).toMatchObject({ action: "dead-letter", reason: "retries-exhausted" });
      expect(what).toContain("`reason: retries-exhausted`");
      expect(decide(failures.unknown, { attempt: max - 1, maxReceiveCount: max }).action).toBe(
        "retry",
      );
    },
    "Out of attempts while its work may still finish (standard queue)": (what) => {
      expect(what).toContain("`spool-requeues`");
      expect(what).toContain(`at most ${MAX_REQUEUES} times`);
      expect(what).toContain("past the record deadline");
      const last = { attempt: max, maxReceiveCount: max };
      expect(decide(failures.duplicateInProgress, last)).toEqual({
        action: "requeue",
        delaySeconds: LEASE,
      });
      // Its own step still running at the deadline: it may yet finish, so it is not dead-lettered.
      expect(decide(failures.deadline, last)).toEqual({ action: "requeue", delaySeconds: LEASE });
      expect(decide(failures.deadline, { ...last, fifo: true })).toMatchObject({
        action: "dead-letter",
      });
      // Sent again at most MAX_REQUEUES times; then, and on FIFO queues, dead-lettered.
      expect(
        decide(failures.duplicateInProgress, { ...last, requeues: MAX_REQUEUES }),
      ).toMatchObject({ action: "dead-letter", reason: "retries-exhausted" });
      expect(decide(failures.duplicateInProgress, { ...last, fifo: true })).toMatchObject({
        action: "dead-letter",
      });
      // Its work done meanwhile: acknowledged, like any record out of attempts.
      expect(decide(failures.duplicateInProgress, { ...last, completed: true })).toEqual({
        action: "acknowledge-duplicate",
      });
      // A lease longer than SQS's longest delay waits the longest delay; never 0.
      expect(decide(failures.duplicateInProgress, { ...last, leaseSeconds: 5000 })).toEqual({
        action: "requeue",
        delaySeconds: 900,
      });
      expect(decide(failures.duplicateInProgress, { ...last, leaseSeconds: 0 })).toEqual({
        action: "requeue",
        delaySeconds: 1,
      });
    },
    "Out of attempts at the record deadline on a FIFO queue": (what) => {
      expect(what).toMatch(/^dead-lettered \(`retries-exhausted`, `RECORD_DEADLINE`\)/);
      expect(what).toContain("`writeFenced`");
      const last = { attempt: max, maxReceiveCount: max, fifo: true };
      expect(decide(failures.deadline, last)).toMatchObject({
        action: "dead-letter",
        reason: "retries-exhausted",
      });
      // The give-up that fences the effect is the pipeline's (effect-fence.test.ts and
      // effect-fence.int.test.ts); here, a committed effect found first is acknowledged.
      expect(decide(failures.deadline, { ...last, completed: true })).toEqual({
        action: "acknowledge-duplicate",
      });
    },
    "A record still running near the function timeout": (what) => {
      expect(what).toContain(`(\`${failures.deadline.code}\`)`);
      expect(failures.deadline.kind).toBe("transient");
      expect(decide(failures.deadline, { attempt: 2 })).toEqual({
        action: "retry",
        delaySeconds: jitter(2),
      });
    },
    "FIFO record fails": (what) => {
      expect(what).toMatch(/^it and every later record \*\*of the same message group\*\*/);
      // The failing record and the later ones Powertools skips are all reported failed.
      expect(batchResponse(decide(failures.unknown))).toBe("failure");
      expect(batchResponse(decide(failures.blockedByGroup))).toBe("failure");
    },
    "FIFO record dead-lettered, with `holdGroupOnDeadLetter`": async (what) => {
      expect(what).toMatch(/^its group is held: every later record of the group is dead-lettered/);
      expect(what).toContain("(`GROUP_HELD`), never run");
      expect(SPOOL_ERROR_CODES.GROUP_HELD.kind).toBe("permanent");
      expect(DEAD_LETTER_REASONS["group-held"]).toBeDefined();
      // A later record of a held group (not a replay) is parked without running.
      const run = vi.fn();
      const park = vi.fn(async () => ({
        status: "dead-lettered" as const,
        reason: "group-held" as const,
        errorCode: "GROUP_HELD" as const,
      }));
      const hold = { head: "m-1", owed: ["m-1"], applied: [], retired: [], parked: 0 };
      const guard = groupHoldGuard(run, {
        holds: {
          read: async () => ({ ...hold, heldAt: undefined, version: 1 }),
          deadLettered: async () => false,
          applied: async () => false,
        },
        metrics: { addMetric: vi.fn() },
        logger: { info: () => undefined, warn: () => undefined },
        park,
      });
      await guard.handle(sqsRecord({ messageId: "m-2", body: {}, fifo: true, groupId: "g" }));
      expect(run).not.toHaveBeenCalled();
      expect(park).toHaveBeenCalledOnce();
    },
    "Same business key delivered again": (what) => {
      expect(what).toContain("the step does not run again");
      expect(what).toContain("(`isDone`)");
      // Also when the delivery fails before it reaches the idempotency check, out of attempts.
      expect(decide(failures.unknown, { attempt: max, completed: true })).toEqual({
        action: "acknowledge-duplicate",
      });
    },
  };

  it("has a case for every row and a row for every case", () => {
    expect(rows.map(([situation]) => situation)).toEqual(Object.keys(cases));
  });

  it.each(rows)("%s", (situation, what) => {
    const check = cases[situation as string];
    expect(check, `no case for the row "${situation}"`).toBeDefined();
    return check?.(what as string);
  });
});

describe("the handler toolkit README's outcome table", () => {
  const rows = tableRows(readDoc("lib/spool/runtime/README.md"), "| Outcome ");

  const cases: Record<string, () => FailureDecision> = {
    // The only failure the policy answers as a success: its work was done already.
    "processed / duplicate": () => decide(failures.unknown, { attempt: 5, completed: true }),
    "permanent failure": () => decide(failures.businessRule),
    "transient failure, attempts left": () => decide(failures.unknown, { attempt: 2 }),
    "transient failure on the last attempt": () => decide(failures.unknown, { attempt: 5 }),
    "out of attempts, its work may still finish": () =>
      decide(failures.duplicateInProgress, { attempt: 5 }),
    "still running at the record deadline": () => decide(failures.deadline, { attempt: 2 }),
    "FIFO: a later record of a failed group": () => decide(failures.blockedByGroup),
  };

  it("has a case for every row and a row for every case", () => {
    expect(rows.map(([outcome]) => outcome)).toEqual(Object.keys(cases));
  });

  it.each(rows)("%s", (outcome, response, effect) => {
    const decision = cases[outcome as string]?.();
    expect(decision, `no case for the row "${outcome}"`).toBeDefined();
    if (!decision) return;
    expect(response).toBe(batchResponse(decision));
    if (decision.action === "dead-letter") {
      expect(effect).toMatch(/sent to the DLQ/);
      if (decision.reason === "retries-exhausted") expect(effect).toContain(decision.reason);
    }
    if (decision.action === "retry") {
      if (decision.delaySeconds === 0) expect(effect).toContain("visibility 0");
      else expect(effect).toMatch(/backoff/);
    }
    if (outcome === "still running at the record deadline")
      expect(effect).toContain(`\`${failures.deadline.code}\``);
    if (decision.action === "acknowledge-duplicate")
      expect(effect).toContain("DuplicatesSuppressed");
    if (decision.action === "requeue") expect(effect).toContain("`Requeued`");
  });
});
