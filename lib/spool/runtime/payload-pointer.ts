import { createHash } from "node:crypto";
import { PermanentError } from "./errors.js";

/**
 * Claim-check pointers: a body too large for a message is stored as an object, and the message
 * carries a pointer to it. Spool writes and reads the pointer format of the AWS SQS extended
 * client libraries, so Java and Python producers using them and Spool's own producers interoperate:
 *
 * - the body is a JSON array `["software.amazon.payloadoffloading.PayloadS3Pointer",
 *   {"s3BucketName": "…", "s3Key": "…"}]` (awslabs/amazon-sqs-python-extended-client-lib,
 *   src/sqs_extended_client/client.py, `_store_message_in_s3`, writes exactly this with
 *   `json.dumps`; the Java library serialises `software.amazon.payloadoffloading.PayloadS3Pointer`
 *   the same way, without the spaces);
 * - the message carries the attribute `ExtendedPayloadSize` (DataType Number, the stored body's
 *   size in bytes): `RESERVED_ATTRIBUTE_NAME` in both libraries (Java:
 *   `com.amazon.sqs.javamessaging.SQSExtendedClientConstants`). Older versions wrote
 *   `SQSLargePayloadSize` and the pointer class `com.amazon.sqs.javamessaging.MessageS3Pointer`
 *   (`LEGACY_RESERVED_ATTRIBUTE_NAME`, `LEGACY_MESSAGE_POINTER_CLASS`); both are still read.
 * - the libraries offload when body plus attributes exceed 262,144 bytes
 *   (`DEFAULT_MESSAGE_SIZE_THRESHOLD`), counting attribute names, types and values.
 *
 * An event (EventBridge's `detail` must be a JSON object, so it cannot be the bare array) carries
 * the same array in a field, `payloadPointer`, beside the envelope fields rules and consumers
 * route on (id, type, source, correlation id, …): see `eventPointerDetail`. The stored object is
 * the whole event as its producer wrote it, so resolving gives back the envelope byte for byte.
 *
 * SDK-free: the PayloadStore construct's contract re-exports the names; producers and consumers
 * reach S3 through the `PayloadObjects` port.
 */

export const POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer";
export const LEGACY_POINTER_CLASS = "com.amazon.sqs.javamessaging.MessageS3Pointer";
/** The attribute that marks an offloaded message; its value is the stored body's byte size. */
export const PAYLOAD_SIZE_ATTRIBUTE = "ExtendedPayloadSize";
export const LEGACY_PAYLOAD_SIZE_ATTRIBUTE = "SQSLargePayloadSize";

/**
 * Bodies (with their attributes) above this many bytes are offloaded by default: the extended
 * clients' threshold, a quarter of SQS's 1 MiB (limits.ts). Well under the limit on purpose: the
 * dead-letter metadata, the envelope an EventBridge delivery adds and a consumer's re-send with
 * more attributes must all still fit, and a smaller message is cheaper (SQS bills each 64 KiB).
 */
export const DEFAULT_OFFLOAD_THRESHOLD_BYTES = 262_144;

/** The environment variable naming the store's bucket (defined beside its bundling switch). */
export { PAYLOAD_BUCKET_ENV } from "./payload-switch.js";

/** The field of an event detail that holds the pointer in place of the event's `data`. */
export const EVENT_POINTER_FIELD = "payloadPointer";
/** Beside it, the stored event's size in bytes (what `ExtendedPayloadSize` is for a message). */
export const EVENT_PAYLOAD_SIZE_FIELD = "payloadSize";
/**
 * A pointer detail is an envelope's small fields plus the pointer (well under 2 KB for Spool's
 * envelope); a body longer than this is never parsed to look for one, so a consumer does not
 * parse every large inline event twice.
 */
const EVENT_POINTER_MAX_CHARS = 16_384;

export interface PayloadPointer {
  readonly bucket: string;
  readonly key: string;
}

/**
 * Where offloaded bodies live: the S3 adapter in Lambda, a map in tests. `get` answers undefined
 * for an object that does not exist (S3's NoSuchKey), and throws for anything else (throttling,
 * a network error), which the consumer then retries.
 */
export interface PayloadObjects {
  put(pointer: PayloadPointer, body: string): Promise<void>;
  get(pointer: PayloadPointer): Promise<string | undefined>;
}

/** A message attribute as SendMessage takes it and as a Lambda SQS event carries it. */
interface AttributeLike {
  readonly DataType?: string | undefined;
  readonly StringValue?: string | undefined;
  readonly dataType?: string | undefined;
  readonly stringValue?: string | undefined;
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8");

/** Body plus attributes in bytes, counted as the extended clients count them. */
export function messageBytes(
  body: string,
  attributes: Readonly<Record<string, AttributeLike>> = {},
): number {
  let total = utf8Bytes(body);
  for (const [name, value] of Object.entries(attributes)) {
    total += utf8Bytes(name);
    total += utf8Bytes(value.DataType ?? value.dataType ?? "");
    total += utf8Bytes(value.StringValue ?? value.stringValue ?? "");
  }
  return total;
}

/** Every key Spool writes starts with this, so a producer's grant can name only these keys. */
export const PAYLOAD_KEY_PREFIX = "sha256/";

/**
 * The object key Spool writes a body under: the SHA-256 of the body, so the same body always has
 * the same key (a retried send rewrites the same object) and a reader can check what it got.
 */
export function payloadKey(body: string): string {
  return `${PAYLOAD_KEY_PREFIX}${createHash("sha256").update(body, "utf8").digest("hex")}`;
}

/** The pointer body, in the format the extended clients read. */
export function pointerBody(pointer: PayloadPointer): string {
  return JSON.stringify([POINTER_CLASS, { s3BucketName: pointer.bucket, s3Key: pointer.key }]);
}

/**
 * The detail an event is published with once its body is in the store: every envelope field but
 * `data` stays as it was (so rules matching on source, detail-type or any top-level field still
 * match, and a consumer logs the right id and correlation id), and `payloadPointer` names the
 * object that holds the whole event.
 */
export function eventPointerDetail(
  event: Readonly<Record<string, unknown>>,
  pointer: PayloadPointer,
  storedBytes: number,
): string {
  const { data: _data, ...envelope } = event;
  return pointerEnvelope(envelope, pointer, storedBytes);
}

/**
 * A JSON object body that stands for a stored one: the small `fields` it keeps in sight (an
 * event's or a task's envelope, without what made it large) plus the pointer in
 * `payloadPointer` and the stored body's size. A consumer with the store resolves it like an
 * event pointer detail (`resolveBody`): the stored object is the whole body, so the consumer
 * gets back exactly what its producer wrote. It must stay small (under 16 KB) to be recognised.
 */
export function pointerEnvelope(
  fields: Readonly<Record<string, unknown>>,
  pointer: PayloadPointer,
  storedBytes: number,
): string {
  return JSON.stringify({
    ...fields,
    [EVENT_POINTER_FIELD]: [POINTER_CLASS, { s3BucketName: pointer.bucket, s3Key: pointer.key }],
    [EVENT_PAYLOAD_SIZE_FIELD]: storedBytes,
  });
}

/**
 * The pointer value of an event pointer detail: in the body itself (a subscription delivers
 * `$.detail`) or in its `detail` (a target that delivers the whole EventBridge event).
 */
function eventPointerValue(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (EVENT_POINTER_FIELD in record) return record[EVENT_POINTER_FIELD];
  const detail = record.detail;
  if (typeof record["detail-type"] === "string" && detail !== null && typeof detail === "object") {
    return (detail as Record<string, unknown>)[EVENT_POINTER_FIELD];
  }
  return undefined;
}

/** Whether a small JSON-object body is an event pointer detail. */
function isEventPointer(body: string): boolean {
  if (body.length > EVENT_POINTER_MAX_CHARS || !body.trimStart().startsWith("{")) return false;
  if (!body.includes(EVENT_POINTER_FIELD)) return false;
  try {
    return eventPointerValue(JSON.parse(body)) !== undefined;
  } catch {
    return false;
  }
}

/** Whether a message claims to carry a pointer: by its size attribute, or by its body's shape. */
export function claimsPointer(
  body: string,
  attributes: Readonly<Record<string, unknown>> | undefined,
): boolean {
  if (
    attributes &&
    (PAYLOAD_SIZE_ATTRIBUTE in attributes || LEGACY_PAYLOAD_SIZE_ATTRIBUTE in attributes)
  ) {
    return true;
  }
  // A pointer whose attribute was lost on the way is still a pointer: a dead letter keeps at most
  // nine of a message's attributes (dead-letter.ts), and a hand-made replay may keep none.
  const head = body.trimStart().slice(0, 80);
  return (
    (head.startsWith("[") &&
      (head.includes(POINTER_CLASS) || head.includes(LEGACY_POINTER_CLASS))) ||
    isEventPointer(body)
  );
}

/** The pointer in a body, or why there is none. */
export function parsePointer(body: string): PayloadPointer | { readonly malformed: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { malformed: "the pointer body is not JSON" };
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    value = eventPointerValue(value);
    if (value === undefined) {
      return { malformed: `an event pointer detail carries the pointer in ${EVENT_POINTER_FIELD}` };
    }
  }
  if (!Array.isArray(value) || value.length !== 2) {
    return { malformed: "a pointer is a JSON array of two elements" };
  }
  const [kind, target] = value as [unknown, unknown];
  if (kind !== POINTER_CLASS && kind !== LEGACY_POINTER_CLASS) {
    return { malformed: `unknown pointer class ${JSON.stringify(kind)}` };
  }
  const fields = (target ?? {}) as Record<string, unknown>;
  const bucket = fields.s3BucketName;
  const key = fields.s3Key;
  if (typeof bucket !== "string" || bucket === "" || typeof key !== "string" || key === "") {
    return { malformed: "the pointer names no s3BucketName and s3Key" };
  }
  return { bucket, key };
}

const SHA256_KEY = /^sha256\/[0-9a-f]{64}$/;

function unresolvable(reason: string, details: Record<string, unknown>): PermanentError {
  return new PermanentError(`the payload pointer cannot be resolved: ${reason}`, {
    code: "PAYLOAD_UNRESOLVABLE",
    details,
  });
}

/**
 * The body a consumer validates: the record's own, or the stored one its pointer names. What can
 * never resolve (a malformed pointer, a bucket other than the consumer's store, no store at all,
 * an object that does not exist) is a PermanentError with code PAYLOAD_UNRESOLVABLE, so the
 * record is dead-lettered at once; the dead letter keeps the pointer body as it came. A failure
 * to read (throttling, network) propagates as it is: transient, retried.
 */
export async function resolveBody(
  body: string,
  attributes: Readonly<Record<string, unknown>> | undefined,
  store: { readonly bucket: string | undefined; readonly objects: PayloadObjects | undefined },
): Promise<string> {
  if (!claimsPointer(body, attributes)) return body;
  const preview = body.slice(0, 300);
  const pointer = parsePointer(body);
  if ("malformed" in pointer) throw unresolvable(pointer.malformed, { bodyPreview: preview });
  if (store.bucket === undefined || store.objects === undefined) {
    throw unresolvable("this consumer has no payload store", { ...pointer });
  }
  if (pointer.bucket !== store.bucket) {
    // Reading any bucket a message names would let a producer point a consumer at data its role
    // can read for other reasons; only the configured store is read.
    throw unresolvable(`the bucket is not this consumer's store (${store.bucket})`, {
      ...pointer,
    });
  }
  const stored = await store.objects.get(pointer);
  if (stored === undefined) {
    throw unresolvable("the object does not exist (expired, deleted or never written)", {
      ...pointer,
    });
  }
  // Spool names an object by its body's hash (payloadKey), so what is read can be checked: an
  // object overwritten or damaged since is refused rather than processed as the message. Keys
  // the extended clients write (UUIDs) carry no hash and are taken as they are.
  if (SHA256_KEY.test(pointer.key) && payloadKey(stored) !== pointer.key) {
    throw unresolvable("the object's content does not match the hash its key names", {
      ...pointer,
    });
  }
  return stored;
}
