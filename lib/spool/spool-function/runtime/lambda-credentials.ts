/**
 * What a SpoolFunction bundle gets instead of `@aws-sdk/credential-provider-node` (an esbuild
 * alias set by `spoolBundling()`): the SDK's default chain reduced to its first link, the
 * environment variables.
 *
 * Why that is sound on Lambda: the Node.js runtime puts the execution role's credentials in
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN before the handler module loads,
 * and the default chain stops at its first link when they are set (with no AWS_PROFILE, which
 * Lambda never sets), so its other links (profile files, SSO, `aws login`, credential processes,
 * web identity, ECS and EC2 metadata) are never reached there; this provider answers exactly what
 * the chain answered. SnapStart, the one Lambda feature that serves credentials from a container
 * endpoint instead, does not exist for Node.js. MiniStack sets the same variables for the
 * functions it runs. The other links cost about 100 KB of bundle (their STS, SSO and sign-in
 * clients) and their module setup at every cold start, for nothing.
 * A function without those variables fails its first AWS call with the SDK's own
 * "Unable to find environment variable credentials" error.
 */
import type { FromEnvInit } from "@aws-sdk/credential-provider-env";
import { fromEnv } from "@aws-sdk/credential-provider-env";

/** The name and signature the SDK clients import from `@aws-sdk/credential-provider-node`. */
export const defaultProvider = (init: FromEnvInit = {}): ReturnType<typeof fromEnv> =>
  fromEnv(init);

interface MaybeExpiring {
  readonly expiration?: Date;
}

/** As in `@aws-sdk/credential-provider-node`: credentials with an expiry are refreshed. */
export const credentialsWillNeedRefresh = (credentials: MaybeExpiring | undefined) =>
  credentials?.expiration !== undefined;

/** As in `@aws-sdk/credential-provider-node`: refreshed five minutes before they expire. */
export const credentialsTreatedAsExpired = (credentials: MaybeExpiring | undefined) =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
