import { isLoopbackEndpoint } from "../../../lib/spool/runtime/faults.js";

/** Where the local emulator listens unless AWS_ENDPOINT_URL says otherwise. */
export const DEFAULT_ENDPOINT = "http://127.0.0.1:4566";
export const LOCAL_REGION = "us-east-1";
export const LOCAL_ACCOUNT = "000000000000";
export const STACK_NAME = "Spool";

export function localEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.AWS_ENDPOINT_URL ?? DEFAULT_ENDPOINT).replace(/\/$/, "");
}

/**
 * Refuses to go on unless the endpoint is on this machine. Everything that writes through
 * emulator-only paths (the reconciler, resets, test setup) calls this first, so it can never
 * touch a real AWS account.
 */
export function assertLocalEndpoint(endpoint: string): void {
  if (!isLoopbackEndpoint(endpoint)) {
    throw new Error(
      `refusing to run against ${endpoint}: only a local emulator endpoint (loopback) is allowed`,
    );
  }
}

/**
 * The environment for AWS SDK clients and the CDK CLI talking to the emulator: fixed test
 * credentials (an emulator accepts any) and one endpoint for every service, S3 included
 * (cdklocal insists on AWS_ENDPOINT_URL_S3 whenever AWS_ENDPOINT_URL is set).
 */
export function localAwsEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const endpoint = localEndpoint(base);
  assertLocalEndpoint(endpoint);
  return {
    ...base,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_S3: base.AWS_ENDPOINT_URL_S3 ?? endpoint,
    AWS_REGION: base.AWS_REGION ?? LOCAL_REGION,
    AWS_DEFAULT_REGION: base.AWS_REGION ?? LOCAL_REGION,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
  };
}

/** Client configuration for AWS SDK v3 clients created by scripts and tests. */
export function localClientConfig(env: NodeJS.ProcessEnv = process.env) {
  const endpoint = localEndpoint(env);
  assertLocalEndpoint(endpoint);
  return {
    endpoint,
    region: env.AWS_REGION ?? LOCAL_REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };
}
