import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ChunkedJobMessage, runChunkedJob } from "../../../lambdas/chunked-job/chunked-job.js";

const ddb = mockClient(DynamoDBDocumentClient);
const deps = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
  table: "effects",
  now: () => new Date("2026-01-01T00:00:00.000Z"),
  sleep: async () => undefined,
};
const message = ChunkedJobMessage.parse({ schemaVersion: 1, jobKey: "j-1", chunks: 10 });
const written = () => ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.sk);

beforeEach(() => {
  ddb.reset();
  ddb.on(PutCommand).resolves({});
});

describe("the chunked job step", () => {
  it("does every chunk, one effect and one progress report each", async () => {
    const reportProgress = vi.fn(async () => undefined);
    const result = await runChunkedJob(
      message,
      { attempt: 1, reportProgress, cancelled: async () => false },
      deps,
    );
    expect(result).toEqual({ chunksDone: 10, stoppedByCancel: false });
    expect(written()).toEqual(Array.from({ length: 10 }, (_, i) => `chunk#0${i}`));
    expect(reportProgress).toHaveBeenLastCalledWith(10, 10, "chunk 10 of 10");
    expect(message.chunkMillis).toBe(1_000);
  });

  it("stops before the next chunk once canceled, leaving a `stopped` item and no more effects", async () => {
    let checks = 0;
    const result = await runChunkedJob(
      message,
      { attempt: 1, reportProgress: async () => undefined, cancelled: async () => ++checks > 3 },
      deps,
    );
    expect(result).toEqual({ chunksDone: 3, stoppedByCancel: true });
    expect(written()).toEqual(["chunk#00", "chunk#01", "chunk#02", "stopped"]);
  });
});
