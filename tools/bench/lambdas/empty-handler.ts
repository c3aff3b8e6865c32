import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

/** The baseline for end-to-end benchmarks: consumes every record and does nothing else. */
export const handler = async (_event: SQSEvent): Promise<SQSBatchResponse> => ({
  batchItemFailures: [],
});
