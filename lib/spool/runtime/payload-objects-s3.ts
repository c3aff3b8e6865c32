import type { S3Client } from "@aws-sdk/client-s3";
import { TransientError } from "./errors.js";
import type { PayloadObjects } from "./payload-pointer.js";
import type { PayloadOffload } from "./producer.js";

type S3Sdk = typeof import("@aws-sdk/client-s3");

/**
 * PayloadObjects over S3. The S3 SDK is imported on first use, not when the module loads, so a
 * consumer with a store whose messages are mostly small does not pay its load time at cold start
 * (a consumer without a store does not even bundle it: payload-switch.ts). A missing object (NoSuchKey: the role has s3:ListBucket, which
 * PayloadStore.grantRead gives, so S3 says so instead of AccessDenied) reads as undefined, which
 * the consumer dead-letters as PAYLOAD_UNRESOLVABLE; any other failure (throttling, a network
 * error, a 5xx the SDK's own retries did not get past) is transient and the record is retried.
 */
export function s3PayloadObjects(client?: S3Client): PayloadObjects {
  let ready: Promise<{ sdk: S3Sdk; s3: S3Client }> | undefined;
  const s3 = () => {
    ready ??= import("@aws-sdk/client-s3").then((sdk) => ({
      sdk,
      // Emulators serve buckets by path; virtual hosts (bucket.localhost) need DNS they lack.
      s3:
        client ?? new sdk.S3Client({ forcePathStyle: process.env.AWS_ENDPOINT_URL !== undefined }),
    }));
    return ready;
  };
  return {
    async put({ bucket, key }, body) {
      const { sdk, s3: client } = await s3();
      await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async get({ bucket, key }) {
      const { sdk, s3: client } = await s3();
      try {
        const object = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        if (object.Body === undefined) throw new Error("S3 answered without a body");
        return await object.Body.transformToString("utf-8");
      } catch (error) {
        if (error instanceof sdk.NoSuchKey || (error as Error).name === "NoSuchKey")
          return undefined;
        throw new TransientError(`the payload store could not be read: ${String(error)}`, {
          code: "PAYLOAD_STORE_UNREADABLE",
          cause: error,
          details: { bucket, key },
        });
      }
    },
  };
}

let shared: PayloadObjects | undefined;

/** One adapter (one S3 client) per container, shared by the consumer and the producers in it. */
export function sharedS3PayloadObjects(): PayloadObjects {
  shared ??= s3PayloadObjects();
  return shared;
}

/**
 * What `offloadLargeBody` needs to offload to a PayloadStore's bucket through S3:
 * `offloadLargeBody(spoolMessage(…), s3Offload(process.env.SPOOL_PAYLOAD_BUCKET!))`.
 */
export function s3Offload(bucket: string, thresholdBytes?: number): PayloadOffload {
  return {
    bucket,
    objects: sharedS3PayloadObjects(),
    ...(thresholdBytes !== undefined ? { thresholdBytes } : {}),
  };
}
