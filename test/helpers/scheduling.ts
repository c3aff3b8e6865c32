import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { DeleteCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { TaskDependencies, TasksConfig } from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import type { JobDefinition } from "../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { config, ddb, output, sqs } from "./cloud.js";

export const scheduler = new SchedulerClient(config);

/** What `scheduleTask`/`cancelTask` need, configured from the deployed stack's outputs. */
export function taskDeps(): TaskDependencies {
  return {
    db: ddb,
    sqs,
    scheduler,
    config: JSON.parse(output("DelayedTasksConfig")) as TasksConfig,
    now: () => new Date(),
  };
}

export function jobDefinition(name: string): JobDefinition {
  const jobs = JSON.parse(output("RecurringJobs")) as Record<string, JobDefinition>;
  const job = jobs[name];
  if (!job) throw new Error(`the deployed stack has no recurring job ${name}`);
  return job;
}

/** Removes a job's run records in [from, to), so a test owns its window on a reused emulator. */
export async function clearRuns(job: JobDefinition, from: Date, to: Date): Promise<void> {
  const { Items = [] } = await ddb.send(
    new QueryCommand({
      TableName: job.runsTable,
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
      ExpressionAttributeValues: {
        ":pk": `job#${job.name}`,
        ":from": `run#${from.toISOString()}`,
        ":to": `run#${to.toISOString()}`,
      },
    }),
  );
  for (const item of Items) {
    await ddb.send(
      new DeleteCommand({ TableName: job.runsTable, Key: { pk: item.pk, sk: item.sk } }),
    );
  }
}
