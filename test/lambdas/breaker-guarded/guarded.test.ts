import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { dependencyKey, guardedKey } from "../../../lambdas/breaker-guarded/contract.js";
import { GuardedMessage, guardedStep } from "../../../lambdas/breaker-guarded/guarded.js";
import type { DependencyBreaker } from "../../../lib/spool/runtime/circuit-breaker.js";
import { classify } from "../../../lib/spool/runtime/errors.js";

const dbMock = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
/** A breaker that always calls through: what is tested here is the step around it. */
const passThrough = { call: (fn: () => Promise<unknown>) => fn() } as DependencyBreaker;
const message = { schemaVersion: 1, runId: "run-1", id: "m-7" } as const;

describe("guardedStep", () => {
  beforeEach(() => dbMock.reset());

  it("counts the dependency call, then records the effect and the delivery it ran on", async () => {
    dbMock.on(UpdateCommand).resolves({ Attributes: { calls: 1 } });
    await guardedStep(message, 2, { db, table: "effects", breaker: passThrough });
    const [call, effect] = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(call).toMatchObject({ Key: dependencyKey("run-1"), UpdateExpression: "ADD calls :one" });
    expect(effect).toMatchObject({
      Key: guardedKey("run-1", "m-7"),
      UpdateExpression: "ADD executions :one, attempts :attempt",
      ExpressionAttributeValues: { ":one": 1, ":attempt": new Set([2]) },
    });
  });

  it("fails as transient, with no effect, while the dependency's switch is on", async () => {
    dbMock.on(UpdateCommand).resolves({ Attributes: { calls: 3, failing: true } });
    const error = await guardedStep(message, 1, {
      db,
      table: "effects",
      breaker: passThrough,
    }).catch((e: unknown) => e);
    expect(classify(error)).toMatchObject({ kind: "transient", code: "INJECTED_TRANSIENT" });
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it("keeps the dependency's item apart from the messages' items", () => {
    expect(dependencyKey("run-1").sk).toBe("#dependency");
    const parse = (id: string) => GuardedMessage.safeParse({ schemaVersion: 1, runId: "r", id });
    expect(parse("#dependency").success).toBe(false);
    expect(parse("").success).toBe(false);
    expect(parse("m-1").success).toBe(true);
  });
});
