import { S3Client } from "@aws-sdk/client-s3";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { DeleteCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { TaskDependencies, TasksConfig } from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import type { JobDefinition } from "../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { s3PayloadObjects } from "../../lib/spool/runtime/payload-objects-s3.js";
import { config, ddb, output, sqs } from "./cloud.js";

export const scheduler = new SchedulerClient(config);
// The emulator serves buckets by path (virtual hosts would need DNS for bucket.localhost).
export const s3 = new S3Client({ ...config, forcePathStyle: true });

/** What `scheduleTask`/`cancelTask` need, configured from the deployed stack's outputs. */
export function taskDeps(): TaskDependencies {
  return {
    db: ddb,
    sqs,
    scheduler,
    config: JSON.parse(output("DelayedTasksConfig")) as TasksConfig,
    now: () => new Date(),
    // The stack's DelayedTasks has a payload store: large tasks are written through S3.
    payloadObjects: s3PayloadObjects(s3),
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
