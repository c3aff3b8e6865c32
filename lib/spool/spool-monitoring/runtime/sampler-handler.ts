import { Logger } from "@aws-lambda-powertools/logger";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { sqsClient } from "../../runtime/clients.js";
import { sampleQueues } from "./sample-queues.js";
import { SamplerInput } from "./sampler-schema.js";

const logger = new Logger();
const deps = { sqs: sqsClient(), cloudwatch: new CloudWatchClient({}), now: () => new Date() };

/** Invoked by SpoolMonitoring's schedule with the queues to sample. */
export const handler = async (event: unknown) => {
  const input = SamplerInput.parse(event);
  const samples = await sampleQueues(input, deps);
  for (const sample of samples) logger.info("sampled", { ...sample });
  return { samples };
};
