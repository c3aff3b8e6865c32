/**
 * A saga step that waits for a person, on the emulator: the approval saga
 * (lib/example/parts/approvals.ts) reserves a slot, parks its approval step's task token on the
 * job (`approval:<id>`), and waits for `spool jobs approve|reject` (run in-process, as the other
 * CLI tests do) or its 20 s taskTimeout; then finishes, or releases the slot. Each step counts
 * its calls on the effects table, so "once each" is observed, not assumed.
 */

import { DescribeExecutionCommand, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { describe, expect, it } from "vitest";
import { APPROVAL_JOB_KIND, callRow } from "../../../../lambdas/approval-steps/steps.js";
import { jobIdFor } from "../../../../lib/spool/job-table/job-states.js";
import type { JobRecord } from "../../../../lib/spool/job-table/runtime/jobs.js";
import { getItem, output, uniqueId, waitFor } from "../../../helpers/cloud.js";
import { spool } from "../../../helpers/operations.js";
import { sfn } from "../../../helpers/workflows.js";

async function start(requestId: string): Promise<string> {
  const jobId = jobIdFor(APPROVAL_JOB_KIND, requestId);
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: output("ApprovalStateMachineArn"),
      name: requestId,
      input: JSON.stringify({ jobId, correlationId: `corr-${requestId}`, request: { requestId } }),
    }),
  );
  return executionArn as string;
}

/** The job as `spool jobs show --json` prints it. */
async function show(jobId: string): Promise<JobRecord | undefined> {
  const { code, json } = await spool("jobs", "show", jobId, "--json");
  return code === 0 ? (json.job as JobRecord) : undefined;
}

/** Waits until the job shows its approval step waiting (the token parked, hidden). */
function waiting(jobId: string) {
  return waitFor(
    async () => {
      const job = await show(jobId);
      return job?.status === "RUNNING" && job.waiting?.step === "approval" ? job : undefined;
    },
    { what: `${jobId} waiting for approval`, timeoutMs: 30_000, intervalMs: 300 },
  );
}

async function finished(executionArn: string) {
  return waitFor(
    async () => {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status !== "RUNNING" ? d : undefined;
    },
    { what: `${executionArn} to end`, timeoutMs: 90_000, intervalMs: 500 },
  );
}

/** How many times each step and compensation ran for this request. */
async function calls(requestId: string): Promise<Record<string, number>> {
  const table = output("EffectsTableName");
  const counted: Record<string, number> = {};
  for (const [phase, step] of [
    ["action", "reserveSlot"],
    ["action", "finish"],
    ["compensation", "reserveSlot"],
  ] as const) {
    const item = await getItem(table, callRow(requestId, phase, step));
    if (item) counted[`${phase}:${step}`] = Number(item.calls);
  }
  return counted;
}

describe.concurrent("a callback step (approval saga)", () => {
  it("approved: the saga goes on and succeeds; a second approve is refused, nothing changes", async () => {
    const requestId = uniqueId("approve");
    const jobId = jobIdFor(APPROVAL_JOB_KIND, requestId);
    const executionArn = await start(requestId);
    const job = await waiting(jobId);
    // The token completes the step: shown as hidden, never printed.
    expect(job.waiting?.taskToken).toBe("(hidden)");
    const text = await spool("jobs", "show", jobId);
    expect(text.out).toMatch(/waiting: +approval since .*spool jobs approve\|reject/);

    const approved = await spool("jobs", "approve", jobId, "--reason", "looks fine", "--json");
    expect(approved.code, approved.err).toBe(0);
    expect(approved.json).toMatchObject({ jobId, answer: "approve", step: "approval" });
    expect(JSON.stringify(approved.json)).not.toMatch(/taskToken/);

    const execution = await finished(executionArn);
    expect(execution.status).toBe("SUCCEEDED");
    const after = await show(jobId);
    expect(after?.status).toBe("SUCCEEDED");
    expect(after?.waiting).toBeUndefined();
    expect(await calls(requestId)).toEqual({ "action:reserveSlot": 1, "action:finish": 1 });

    const again = await spool("jobs", "approve", jobId);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/is SUCCEEDED and waits for no answer: nothing to approve/);
  });

  it("rejected: the completed step is compensated once, the job COMPENSATED with the reason", async () => {
    const requestId = uniqueId("reject");
    const jobId = jobIdFor(APPROVAL_JOB_KIND, requestId);
    const executionArn = await start(requestId);
    await waiting(jobId);

    const rejected = await spool("jobs", "reject", jobId, "--reason", "over budget");
    expect(rejected.code, rejected.err).toBe(0);
    expect(rejected.out).toMatch(/Rejected step approval .* compensates/);

    const execution = await finished(executionArn);
    expect(execution).toMatchObject({ status: "FAILED", error: "COMPENSATED" });
    const job = await waitFor(
      async () => {
        const j = await show(jobId);
        return j?.status === "COMPENSATED" ? j : undefined;
      },
      { what: `${jobId} COMPENSATED` },
    );
    expect(job.lastError).toMatchObject({ step: "approval", error: "Spool.Rejected" });
    expect(job.lastError?.cause).toMatch(/over budget/);
    expect(await calls(requestId)).toEqual({
      "action:reserveSlot": 1,
      "compensation:reserveSlot": 1,
    });
  });

  it("unanswered: the step times out after its taskTimeout and compensates once; a late approve is refused", async () => {
    const requestId = uniqueId("timeout");
    const jobId = jobIdFor(APPROVAL_JOB_KIND, requestId);
    const executionArn = await start(requestId);
    await waiting(jobId);

    const execution = await finished(executionArn);
    expect(execution).toMatchObject({ status: "FAILED", error: "COMPENSATED" });
    const job = await waitFor(
      async () => {
        const j = await show(jobId);
        return j?.status === "COMPENSATED" ? j : undefined;
      },
      { what: `${jobId} COMPENSATED` },
    );
    expect(job.lastError).toMatchObject({ step: "approval", error: "States.Timeout" });
    expect(await calls(requestId)).toEqual({
      "action:reserveSlot": 1,
      "compensation:reserveSlot": 1,
    });

    const late = await spool("jobs", "approve", jobId);
    expect(late.code).toBe(1);
    expect(late.err).toMatch(
      /is COMPENSATED \(its step approval stopped waiting\) and waits for no answer/,
    );
  });
});
