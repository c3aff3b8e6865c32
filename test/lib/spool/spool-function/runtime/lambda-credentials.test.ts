import { afterEach, describe, expect, it, vi } from "vitest";
import {
  credentialsTreatedAsExpired,
  credentialsWillNeedRefresh,
  defaultProvider,
} from "../../../../../lib/spool/spool-function/runtime/lambda-credentials.js";

afterEach(() => vi.unstubAllEnvs());

describe("the Lambda credential provider bundled in place of the SDK's default chain", () => {
  it("answers the execution role's credentials from the environment, as Lambda sets them", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
    vi.stubEnv("AWS_SESSION_TOKEN", "token");
    await expect(defaultProvider()()).resolves.toMatchObject({
      accessKeyId: "ASIAEXAMPLE",
      secretAccessKey: "secret",
      sessionToken: "token",
    });
  });

  it("fails with the SDK's own error when the environment has none", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "");
    await expect(defaultProvider()()).rejects.toThrow(
      "Unable to find environment variable credentials",
    );
  });

  it("refreshes expiring credentials five minutes early, as the default chain does", () => {
    const soon = { expiration: new Date(Date.now() + 60_000) };
    const later = { expiration: new Date(Date.now() + 3_600_000) };
    expect(credentialsWillNeedRefresh(soon)).toBe(true);
    expect(credentialsWillNeedRefresh({})).toBe(false);
    expect(credentialsTreatedAsExpired(soon)).toBe(true);
    expect(credentialsTreatedAsExpired(later)).toBe(false);
  });
});
