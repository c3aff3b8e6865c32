import { CancelMessageMoveTaskCommand, ListMessageMoveTasksCommand } from "@aws-sdk/client-sqs";
import type { ReplayStarted } from "./audit.js";
import { SpoolCliError } from "./errors.js";
import type { ReplayDeps, ReplayOutcome, ReplayRequest } from "./replay.js";

/**
 * Waits for SQS's own move task (an unfiltered replay, where the endpoint has the API). SQS moves
 * the messages as they are: they carry no replay mark, and the audit names no message, so
 * `spool dlq history <replay-id>` cannot follow their outcome (`--no-native` replays track it).
 * Shows its progress; cancels it when interrupted.
 */
export async function followMoveTask(
  request: ReplayRequest,
  deps: ReplayDeps,
  base: Omit<
    ReplayOutcome,
    | "method"
    | "examined"
    | "matched"
    | "moved"
    | "messages"
    | "failures"
    | "notDeleted"
    | "interrupted"
    | "elapsedMs"
  >,
  targetFields: Pick<ReplayStarted, "targetQueue" | "targetQueueUrl" | "targetDeadLetterQueueUrl">,
  taskHandle: string,
  started: Date,
): Promise<ReplayOutcome> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  await deps.audit?.started({
    replayId: base.replayId,
    stack: deps.stack,
    queue: request.queue.name,
    sourceQueueUrl: request.queue.url,
    deadLetterQueueUrl: request.queue.deadLetterQueue.url,
    method: "message-move-task",
    ...targetFields,
    filter: base.filter,
    limit: undefined,
    ratePerSecond: request.ratePerSecond,
    operator: deps.operator,
    startedAt: started.toISOString(),
    moveTaskHandle: taskHandle,
  });
  let status = "RUNNING";
  let moved = 0;
  let toMove: number | undefined;
  let failure: string | undefined;
  let interrupted = false;
  while (status === "RUNNING" || status === "CANCELLING") {
    if (deps.signal?.aborted && !interrupted) {
      interrupted = true;
      await deps.sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: taskHandle }));
    }
    await sleep(1_000);
    const { Results = [] } = await deps.sqs.send(
      new ListMessageMoveTasksCommand({
        SourceArn: request.queue.deadLetterQueue.arn,
        MaxResults: 1,
      }),
    );
    const task = Results.find((r) => r.TaskHandle === taskHandle) ?? Results[0];
    if (!task) break;
    status = task.Status ?? "COMPLETED";
    const before = moved;
    moved = task.ApproximateNumberOfMessagesMoved ?? moved;
    toMove = task.ApproximateNumberOfMessagesToMove ?? toMove;
    failure = task.FailureReason ?? failure;
    if (deps.progress) {
      deps.progress.total = toMove;
      deps.progress.tick(moved - before);
    }
  }
  deps.progress?.end();
  const finishedAt = now();
  await deps.audit?.finished(base.replayId, {
    status: status === "FAILED" ? "failed" : interrupted ? "interrupted" : "completed",
    examined: toMove ?? moved,
    matched: toMove ?? moved,
    moved,
    failed: status === "FAILED" ? 1 : 0,
    finishedAt: finishedAt.toISOString(),
    ...(failure ? { error: failure } : {}),
  });
  if (status === "FAILED") {
    throw new SpoolCliError(
      `SQS move task ${taskHandle} failed after ${moved} messages: ${failure}`,
    );
  }
  return {
    ...base,
    method: "message-move-task",
    examined: toMove ?? moved,
    matched: toMove ?? moved,
    moved,
    messages: [],
    failures: [],
    notDeleted: [],
    interrupted,
    moveTaskHandle: taskHandle,
    elapsedMs: finishedAt.getTime() - started.getTime(),
  };
}
