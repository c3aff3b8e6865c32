import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import {
  type JobDefinition,
  jobDefinitionsFromEnv,
  type RunContext,
  RunMessage,
  runRecurringJob,
  scheduleAnchor,
} from "../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { PermanentError } from "../../lib/spool/runtime/errors.js";
import { spoolMessage } from "../../lib/spool/runtime/producer.js";
import { queueUrlFromArn, sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { heartbeat } from "./heartbeat.js";
import { reconcileOrders } from "./reconcile-orders.js";

const jobs = jobDefinitionsFromEnv();
const scheduler = new SchedulerClient({});
const anchors = new Map<string, Promise<Date | undefined>>();

export const handler = sqsConsumerHandler(RunMessage, ({ dynamo, sqs }) => {
  const db = documentClient(dynamo);
  const now = () => new Date();
  const effects = { db, table: effectsTable(), now };
  const effectOf: Record<string, (run: RunContext) => Promise<unknown>> = {
    "nightly-reconciliation": (run) => reconcileOrders(run, effects),
    heartbeat: (run) => heartbeat(run, effects),
    "overlap-probe": (run) => heartbeat(run, effects),
  };
  const deps = {
    db,
    now,
    anchorOf: (job: JobDefinition) => {
      let anchor = anchors.get(job.name);
      if (!anchor) {
        anchor = scheduleAnchor(scheduler, job).catch((error: unknown) => {
          anchors.delete(job.name); // a failed read is retried by the next delivery
          throw error;
        });
        anchors.set(job.name, anchor);
      }
      return anchor;
    },
  };
  return {
    // Used only to keep one run's deliveries in a batch in sequence. The exactly-once boundary
    // is the run key's conditional write in the runs table (no Powertools idempotency here: two
    // real runs of an emulator that leaves the scheduled-time placeholder look identical).
    idempotencyKey: (message) => `${message.job}@${message.scheduledTime}`,
    process: async (message, ctx) => {
      const job = jobs[message.job];
      const effect = effectOf[message.job];
      if (!job || !effect) {
        throw new PermanentError(`job ${message.job} is not served by this worker`, {
          code: "JOB_UNKNOWN",
          details: { job: message.job, known: Object.keys(jobs) },
        });
      }
      const requeue = async (delaySeconds: number) => {
        await sqs.send(
          new SendMessageCommand(
            spoolMessage({
              queueUrl: queueUrlFromArn(job.queueArn),
              body: message,
              correlationId: ctx.correlationId,
              delaySeconds,
            }),
          ),
        );
      };
      const outcome = await runRecurringJob(
        message,
        { sentAt: ctx.sentAt, correlationId: ctx.correlationId },
        job,
        { ...deps, requeue },
        effect,
      );
      ctx.logger.info(`run ${outcome.status}`, { runKey: outcome.runKey, outcome });
      return outcome;
    },
  };
});
