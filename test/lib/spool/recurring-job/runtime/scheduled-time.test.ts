import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it, vi } from "vitest";
import { SCHEDULED_TIME_PLACEHOLDER } from "../../../../../lib/spool/recurring-job/runtime/run-message.js";
import {
  resolveScheduledTime,
  scheduleAnchor,
} from "../../../../../lib/spool/recurring-job/runtime/scheduled-time.js";
import { JOB, runMessage as message, runMeta as meta } from "../../../../helpers/recurring-runs.js";

const deps = (anchor?: Date) => ({ anchorOf: vi.fn(async () => anchor) });

describe("resolveScheduledTime", () => {
  it("takes the scheduled time from the message", async () => {
    expect(await resolveScheduledTime(message(), meta.sentAt, JOB, deps())).toEqual({
      time: new Date("2026-03-02T01:00:00Z"),
      source: "payload",
    });
  });

  it("falls back to the latest occurrence at or before SentTimestamp when the placeholder arrives", async () => {
    const m = message({ scheduledTime: SCHEDULED_TIME_PLACEHOLDER });
    const resolved = await resolveScheduledTime(m, new Date("2026-03-02T01:00:09Z"), JOB, deps());
    expect(resolved).toEqual({ time: new Date("2026-03-02T01:00:00Z"), source: "sent-timestamp" });
  });

  it("anchors the fallback of a rate() job at its schedule's start", async () => {
    const rate = { ...JOB, schedule: "rate(15 minutes)" };
    const d = deps(new Date("2026-03-02T00:05:00Z"));
    const m = message({ scheduledTime: SCHEDULED_TIME_PLACEHOLDER });
    expect((await resolveScheduledTime(m, new Date("2026-03-02T00:49:00Z"), rate, d)).time).toEqual(
      new Date("2026-03-02T00:35:00Z"),
    );
    expect(d.anchorOf).toHaveBeenCalledWith(rate);
  });

  it("refuses a scheduled time that is not ISO 8601 as permanent", async () => {
    await expect(
      resolveScheduledTime(message({ scheduledTime: "yesterday" }), meta.sentAt, JOB, deps()),
    ).rejects.toMatchObject({ code: "RUN_TIME_INVALID" });
  });
});

describe("scheduleAnchor", () => {
  it("takes a rate() job's start date when it has one, without asking the Scheduler", async () => {
    const scheduler = mockClient(new SchedulerClient({ region: "us-east-1" }));
    const job = { ...JOB, startDate: "2026-03-01T00:05:00.000Z" };
    expect(await scheduleAnchor(scheduler as unknown as SchedulerClient, job)).toEqual(
      new Date("2026-03-01T00:05:00Z"),
    );
    expect(scheduler.calls()).toHaveLength(0);
  });

  it("else reads the schedule: its start date, or its creation time", async () => {
    const scheduler = mockClient(new SchedulerClient({ region: "us-east-1" }));
    const created = new Date("2026-02-01T10:00:00Z");
    scheduler.on(GetScheduleCommand).resolves({ CreationDate: created });
    expect(await scheduleAnchor(scheduler as unknown as SchedulerClient, JOB)).toEqual(created);
    expect(scheduler.commandCalls(GetScheduleCommand)[0]?.args[0].input).toEqual({
      Name: "nightly",
      GroupName: "default",
    });
  });
});
