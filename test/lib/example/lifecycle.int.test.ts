import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
} from "@aws-sdk/client-cloudformation";
import { DeleteTableCommand, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ListScheduleGroupsCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { ListQueuesCommand } from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DeployOptions, deployLocal } from "../../../tools/scripts/deploy-local.js";
import { clients, config, ddb, sqs, waitFor } from "../../helpers/cloud.js";

/**
 * Deploy, delete, deploy again, on a stack of its own, so the shared `Spool` deployment the other
 * integration tests use is never touched: the library's state tables, fixed-name queues and a
 * stack-named schedule group (test/helpers/fixtures/lifecycle-app.ts), without the reference
 * stack's Lambdas, whose bundling and pollers would double the suite's load for no lifecycle fact.
 * Its cloud assembly goes to its own folder.
 */
const STACK = "SpoolLifecycle";
const deployOptions: DeployOptions = {
  stack: STACK,
  quiet: true,
  context: { "spool:stack": STACK },
  app: { command: "npx tsx test/helpers/fixtures/lifecycle-app.ts", output: "cdk.out.lifecycle" },
};
const DEPLOY_TIMEOUT = 240_000;

const cloudFormation = new CloudFormationClient(config);
const scheduler = new SchedulerClient(config);
const { dynamo } = clients;

async function stackExists(): Promise<boolean> {
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: STACK }));
    return Stacks?.[0]?.StackStatus !== "DELETE_COMPLETE";
  } catch {
    return false;
  }
}

async function deleteStack(): Promise<void> {
  await cloudFormation.send(new DeleteStackCommand({ StackName: STACK }));
  await waitFor(async () => !(await stackExists()), { timeoutMs: 120_000, what: "stack deleted" });
}

/** What of this stack exists by name: queues, schedule groups, tables. */
async function stackResources() {
  const queues = (await sqs.send(new ListQueuesCommand({ QueueNamePrefix: STACK }))).QueueUrls;
  const groups = (await scheduler.send(new ListScheduleGroupsCommand({ NamePrefix: STACK })))
    .ScheduleGroups;
  const tables = (await dynamo.send(new ListTablesCommand({}))).TableNames;
  return {
    queues: queues?.length ?? 0,
    groups: groups?.map((g) => g.Name).filter((n) => n?.startsWith(STACK)).length ?? 0,
    tables: tables?.filter((t) => t.startsWith(`${STACK}-`)) ?? [],
  };
}

async function deleteRetainedTables(): Promise<void> {
  for (const TableName of (await stackResources()).tables) {
    await dynamo.send(new DeleteTableCommand({ TableName }));
  }
}

describe(`deploy, delete and deploy again (stack ${STACK})`, () => {
  let effectsTable = "";
  // The idempotency table is keyed by `id` (Powertools).
  const record = { id: "lifecycle#kept" };

  beforeAll(async () => {
    // A previous run's stack or retained tables would make this one prove nothing.
    if (await stackExists()) await deleteStack();
    await deleteRetainedTables();
    const { outputs } = await deployLocal(deployOptions);
    effectsTable = outputs.IdempotencyTableName ?? "";
  }, DEPLOY_TIMEOUT);

  afterAll(async () => {
    if (await stackExists()) await deleteStack();
    await deleteRetainedTables();
  }, DEPLOY_TIMEOUT);

  it("deletes the fixed-name resources it can recreate and keeps the state tables with their data", async () => {
    const deployed = await stackResources();
    // Two queues, each with its dead-letter queue; one group; two state tables.
    expect(deployed.queues).toBe(4);
    expect(deployed.groups).toBe(1);
    expect(deployed.tables).toHaveLength(2);
    await ddb.send(new PutCommand({ TableName: effectsTable, Item: record }));

    await deleteStack();

    const left = await stackResources();
    expect({ queues: left.queues, groups: left.groups }).toEqual({ queues: 0, groups: 0 });
    // RetainExceptOnCreate: a stack deletion keeps the tables and what they hold.
    expect(left.tables.sort()).toEqual(deployed.tables.sort());
    const kept = await ddb.send(new GetCommand({ TableName: effectsTable, Key: record }));
    expect(kept.Item).toEqual(record);
  });

  it(
    "deploys again into the same account",
    async () => {
      const { outputs } = await deployLocal(deployOptions);
      expect(outputs.IdempotencyTableName).toMatch(new RegExp(`^${STACK}-`));
      const redeployed = await stackResources();
      expect(redeployed.queues).toBe(4);
      expect(redeployed.groups).toBe(1);
    },
    DEPLOY_TIMEOUT,
  );
});
