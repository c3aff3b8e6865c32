/**
 * The names that decide whether a function can read a payload store, shared by SpoolFunction
 * (which decides at synth what a bundle holds) and the consumer's defaults (which read them in
 * the function). SDK-free and import-free: synth-time code imports it.
 */

/** The environment variable naming the store's bucket, for producers and consumers alike. */
export const PAYLOAD_BUCKET_ENV = "SPOOL_PAYLOAD_BUCKET";

/**
 * What esbuild's `define` replaces with `"false"` in the bundle of a function built without
 * PAYLOAD_BUCKET_ENV in its construction-time environment (spoolBundling): the consumer's
 * defaults compare `process.env.SPOOL_PAYLOAD_S3_BUNDLED` with it, so the comparison folds to a
 * constant and the S3 adapter, with `@aws-sdk/client-s3`, is dropped from the bundle of every
 * consumer without a store. Outside a bundle (unit tests, tools) the variable is unset and the
 * environment alone decides.
 */
export const PAYLOAD_S3_BUNDLED_DEFINE = "process.env.SPOOL_PAYLOAD_S3_BUNDLED";
