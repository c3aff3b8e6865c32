import * as z from "zod";

/** The input each sampler schedule carries (built by SpoolMonitoring). */
export const SamplerInput = z.object({
  namespace: z.string().min(1).max(255),
  rateWindowSeconds: z.number().int().min(60).max(3_600),
  growthWindowSeconds: z.number().int().min(120).max(86_400),
  queues: z
    .array(z.object({ queueUrl: z.string().min(1), deadLetterQueueUrl: z.string().min(1) }))
    .max(200),
});
export type SamplerInput = z.infer<typeof SamplerInput>;
