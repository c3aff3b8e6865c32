import { isLoopbackEndpoint } from "../../../lib/spool/runtime/faults.js";

/** Where the CLI talks to: an emulator endpoint, or AWS through the normal credential chain. */
export interface AwsTarget {
  /** Set when AWS_ENDPOINT_URL is (an emulator, usually). */
  readonly endpoint: string | undefined;
  /** Undefined lets the SDK take it from the profile configuration. */
  readonly region: string | undefined;
  /** A loopback endpoint: an emulator on this machine, which accepts any credentials. */
  readonly local: boolean;
}

const EMULATOR_REGION = "us-east-1";

export function resolveTarget(
  options: { region?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): AwsTarget {
  const endpoint = env.AWS_ENDPOINT_URL?.replace(/\/$/, "") || undefined;
  const local = isLoopbackEndpoint(endpoint);
  const region =
    options.region ??
    env.AWS_REGION ??
    env.AWS_DEFAULT_REGION ??
    (endpoint ? EMULATOR_REGION : undefined);
  return { endpoint, region, local };
}

export function clientConfig(target: AwsTarget) {
  return {
    ...(target.region ? { region: target.region } : {}),
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    // An emulator takes any credentials; a developer's real ones never need to reach it.
    ...(target.local ? { credentials: { accessKeyId: "test", secretAccessKey: "test" } } : {}),
  };
}
