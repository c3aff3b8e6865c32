/**
 * The shape of the access proof: a data path is one thing the stack does (a mapping polling a
 * queue, a rule delivering to a target…) made of the AWS requests it takes, each of which must
 * be allowed; or a path that must stay refused, each of whose requests must be denied.
 */
import type { TemplateModel } from "./template-model.js";

/** One request as IAM evaluates it. */
export interface IamRequest {
  /** A role's ARN, a service principal (events.amazonaws.com) or another account's principal. */
  readonly principal: string;
  readonly action: string;
  /** The resource's ARN, or "*" for actions that have no resource-level permission. */
  readonly resource: string;
  readonly context: Readonly<Record<string, string | string[]>>;
}

/**
 * SQS moving a message to a dead-letter queue: no IAM request, the dead-letter queue's
 * RedriveAllowPolicy decides. Both are logical ids.
 */
export interface RedriveRequest {
  readonly redriveFrom: string;
  readonly deadLetterQueue: string;
}

export type AccessRequest = IamRequest | RedriveRequest;

export interface AccessPath {
  readonly kind: string;
  readonly from: string;
  readonly to: string;
  readonly expect: "allowed" | "denied";
  readonly requests: readonly AccessRequest[];
}

/** Allowed, or why not: IAM's two denials, or an error in the request itself. */
export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | `Error: ${string}`;

export interface PathResult {
  readonly path: AccessPath;
  readonly decisions: readonly Decision[];
  /** One line per request that went the wrong way; empty when the path is as expected. */
  readonly failures: readonly string[];
}

export interface AccessProof {
  readonly results: readonly PathResult[];
  readonly failures: readonly string[];
}

export const isRedrive = (r: AccessRequest): r is RedriveRequest => "redriveFrom" in r;

/** The account every refusal of "another account" speaks for. */
export const OTHER_ACCOUNT = "210987654321";

export function tls(
  extra: Record<string, string | string[]> = {},
): Record<string, string | string[]> {
  return { "aws:SecureTransport": "true", ...extra };
}

/** The context a service principal sends when it acts for a resource of this account. */
export function onBehalfOf(model: TemplateModel, sourceArn: string): Record<string, string> {
  return {
    "aws:SecureTransport": "true",
    "aws:SourceArn": sourceArn,
    "aws:SourceAccount": model.account,
  };
}

/** The execution role of a function or state machine. */
export function roleOf(model: TemplateModel, id: string): string | undefined {
  const props = model.props(id);
  return model.references(props.Role ?? props.RoleArn)[0];
}

/** The template's KMS key that encrypts a queue or topic, if it is one of the template's. */
export function keyOf(model: TemplateModel, id: string): string | undefined {
  const props = model.props(id);
  const key = model.references(props.KmsMasterKeyId)[0];
  return key && model.typeOf(key) === "AWS::KMS::Key" ? key : undefined;
}

/**
 * What delivering to `targetId` takes: the delivery itself and, for an encrypted queue or topic,
 * the key operations (GenerateDataKey to write, Decrypt to check the data key).
 */
export function deliveryRequests(
  model: TemplateModel,
  principal: string,
  targetId: string,
  context: Record<string, string | string[]>,
): IamRequest[] {
  const action: Record<string, string> = {
    "AWS::SQS::Queue": "sqs:SendMessage",
    "AWS::SNS::Topic": "sns:Publish",
    "AWS::Lambda::Function": "lambda:InvokeFunction",
    "AWS::StepFunctions::StateMachine": "states:StartExecution",
    "AWS::Events::EventBus": "events:PutEvents",
  };
  const deliver = action[model.typeOf(targetId)];
  if (!deliver)
    throw new Error(`no delivery action known for ${targetId} (${model.typeOf(targetId)})`);
  const requests: IamRequest[] = [
    { principal, action: deliver, resource: model.arnOf(targetId), context },
  ];
  const key = keyOf(model, targetId);
  if (key) {
    for (const keyAction of ["kms:GenerateDataKey", "kms:Decrypt"]) {
      requests.push({ principal, action: keyAction, resource: model.arnOf(key), context });
    }
  }
  return requests;
}

/** A function's environment variables, resolved. */
export function environmentOf(model: TemplateModel, fn: string): Record<string, unknown> {
  const env = model.props(fn).Environment as { Variables?: unknown } | undefined;
  return (model.resolve(env?.Variables) as Record<string, unknown> | undefined) ?? {};
}
