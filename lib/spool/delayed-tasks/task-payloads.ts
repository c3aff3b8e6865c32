import { type Duration, Stack } from "aws-cdk-lib";
import type { CfnFunction, Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import type { IConstruct } from "constructs";
import type { PayloadStore } from "../payload-store/index.js";
import { PAYLOAD_BUCKET_ENV } from "../runtime/payload-switch.js";
import { describeSeconds, invalid, requireInteger, secondsOf } from "../runtime/validation.js";
import { MAX_TASK_MESSAGE_BYTES } from "./contract.js";

/**
 * The synth-time side of large task payloads (runtime/offload.ts): the props' rules, and the
 * check that every delivering consumer resolves the store's pointers.
 */

/**
 * Refuses a store whose objects could expire while a task still needs its message: an object is
 * written when its task is scheduled, the task is due up to `maxDelay` later, and its record (so
 * any delivery, retry or replay that can still run it) lives `taskRetention` past its due time;
 * after that a delivery is TASK_UNKNOWN whatever the object. S3 expires an object whole days
 * after its last write, never earlier.
 */
export function validatePayloadProps(
  scope: IConstruct,
  store: PayloadStore | undefined,
  offloadThresholdBytes: number | undefined,
  maxDelay: Duration,
  taskRetention: Duration,
): void {
  if (offloadThresholdBytes !== undefined && store === undefined) {
    invalid(
      scope,
      `offloadThresholdBytes needs a payloadStore to offload to, got ${offloadThresholdBytes} without one`,
    );
  }
  requireInteger(scope, "offloadThresholdBytes", offloadThresholdBytes, 0, MAX_TASK_MESSAGE_BYTES);
  if (!store) return;
  const expiration = secondsOf(store.expiration);
  const delay = secondsOf(maxDelay);
  const retention = secondsOf(taskRetention);
  if (expiration === undefined || delay === undefined || retention === undefined) return;
  if (expiration <= delay + retention) {
    invalid(
      scope,
      `payloadStore: its objects must outlive any task, so its expiration must be longer than maxDelay + taskRetention (${describeSeconds(delay)} + ${describeSeconds(retention)}), got ${describeSeconds(expiration)} (${store.node.path}): lower maxDelay or taskRetention, or raise the store's expiration`,
    );
  }
}

/**
 * Refuses a delivering consumer that would not resolve the store's pointers: its
 * SPOOL_PAYLOAD_BUCKET (QueueConsumer's `payloadStore`, set at construction so its bundle holds
 * the S3 adapter) must name the store. Checked at synth, when the environment is complete.
 */
export function requireDeliveryReadsStore(
  scope: IConstruct,
  fn: LambdaFunction,
  store: PayloadStore,
): void {
  const stack = Stack.of(scope);
  const cfn = fn.node.defaultChild as CfnFunction;
  const environment = stack.resolve(cfn.environment) as
    | { variables?: Record<string, unknown> }
    | undefined;
  const got = environment?.variables?.[PAYLOAD_BUCKET_ENV];
  const want = stack.resolve(store.bucketName);
  if (JSON.stringify(got) === JSON.stringify(want)) return;
  invalid(
    scope,
    `grantDelivery: with a payloadStore, the consumer ${fn.node.path} must resolve its pointers: give it payloadStore ${store.node.path} at construction (QueueConsumer's payloadStore, which sets ${PAYLOAD_BUCKET_ENV}), got ${got === undefined ? "none" : `${PAYLOAD_BUCKET_ENV}=${JSON.stringify(got)}`}`,
  );
}
