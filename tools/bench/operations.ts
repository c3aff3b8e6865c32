import { bufferIo } from "../cli/lib/io.js";
import { runSpool } from "../cli/spool.js";
import { localEndpoint } from "../scripts/lib/local-cloud.js";
import type { Figure } from "./run.js";
import { percentile } from "./stats.js";

/** Runs the CLI in-process against the emulator; its JSON output and how long it took. */
export async function spool(...argv: string[]) {
  const io = bufferIo();
  const started = performance.now();
  const code = await runSpool(argv, {
    io,
    env: { ...process.env, AWS_ENDPOINT_URL: localEndpoint() },
  });
  if (code !== 0) throw new Error(`spool ${argv.join(" ")}: ${io.err()}`);
  return { ms: performance.now() - started, json: JSON.parse(io.out()) };
}

/**
 * The operator CLI's read figures: `spool status`, `spool schedules list`, `spool jobs show`
 * (the replay's are in replay.ts).
 */
export async function measureOperations(): Promise<Figure[]> {
  const status: number[] = [];
  for (let i = 0; i < 5; i++) status.push((await spool("status", "--json")).ms);

  const schedules: number[] = [];
  for (let i = 0; i < 5; i++) schedules.push((await spool("schedules", "list", "--json")).ms);
  // Any job the run has left (the saga figures make some); none on a fresh emulator.
  const [job] = (await spool("jobs", "list", "--limit", "1", "--json")).json.jobs as {
    jobId: string;
  }[];
  const jobShow: number[] = [];
  for (let i = 0; job && i < 5; i++)
    jobShow.push((await spool("jobs", "show", job.jobId, "--json")).ms);
  return [
    {
      name: "spool schedules list (delayed-task schedules + 3 jobs), p50",
      value: percentile(schedules, 50),
      unit: "ms",
      note: "in-process, stack inventory read each time",
    },
    ...(jobShow.length
      ? [
          {
            name: "spool jobs show (job + execution history), p50",
            value: percentile(jobShow, 50),
            unit: "ms",
            note: "in-process, stack inventory read each time",
          },
        ]
      : []),
    {
      name: "spool status (4 queues), p50",
      value: percentile(status, 50),
      unit: "ms",
      note: "in-process, stack inventory read each time",
    },
  ];
}
