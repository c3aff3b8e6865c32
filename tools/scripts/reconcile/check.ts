/**
 * What a checker hands the reconciler: one declared property of one deployed resource, how to
 * read it back from the emulator and, where an API allows, how to set it.
 */
import type { localClientConfig } from "../lib/local-cloud.js";

/** A resource's properties from the template, intrinsics already resolved. */
export type Props = Record<string, unknown>;

/** The SDK client configuration every checker gets: the local emulator's endpoint. */
export type ClientConfig = ReturnType<typeof localClientConfig>;

export interface Check {
  readonly property: string;
  readonly declared: unknown;
  readonly observe: () => Promise<unknown>;
  /** Absent when the service offers no API to change the property after creation. */
  readonly fix?: () => Promise<unknown>;
  readonly equal?: (declared: unknown, observed: unknown) => boolean;
  /** Said with a successful fix: what the emulator still does not honour. */
  readonly noteWhenFixed?: string;
  /** Why there is no fix, when the generic reason does not apply. */
  readonly unfixable?: string;
}

/** Builds the checks for one deployed resource from its physical id and resolved properties. */
export type CheckBuilder = (physicalId: string, props: Props) => Check[];

/** One CloudFormation resource type the reconciler inspects; registered in checkers/index.ts. */
export interface ResourceChecker {
  /** The CloudFormation type, e.g. `AWS::SQS::Queue`. */
  readonly type: string;
  /** Called once per run, so a run creates each service's client once. */
  readonly connect: (config: ClientConfig) => CheckBuilder;
}
