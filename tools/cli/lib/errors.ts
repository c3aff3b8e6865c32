/** An error whose message is already what the operator should read (no stack trace). */
export class SpoolCliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "SpoolCliError";
  }
}

interface Where {
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  readonly stack: string;
}

/** One line for any error: ours as they are, AWS and network errors with what to do about them. */
export function describeError(error: unknown, where: Where): string {
  if (error instanceof SpoolCliError) return error.message;
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const message = (e?.message ?? String(error)).split("\n")[0] ?? "";
  const code = e?.code ?? e?.cause?.code;
  const target = where.endpoint ?? `AWS ${where.region ?? "(default region)"}`;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return `cannot reach ${target} (${code})${where.endpoint ? ": is the emulator running? (npm run emulator:start)" : ""}`;
  }
  if (e?.name === "CredentialsProviderError" || /Could not load credentials/i.test(message)) {
    return "no AWS credentials: configure a profile (aws configure, AWS_PROFILE) or set AWS_ENDPOINT_URL to use a local emulator";
  }
  if (/Region is missing/i.test(message)) {
    return "no AWS region: pass --region or set AWS_REGION";
  }
  if (e?.name === "ValidationError" && /does not exist/i.test(message)) {
    return `stack ${where.stack} not found at ${target}: deploy it first, or pass --stack <name>`;
  }
  if (
    e?.name === "AccessDenied" ||
    e?.name === "AccessDeniedException" ||
    /not authorized/i.test(message)
  ) {
    return `access denied at ${target}: ${message}`;
  }
  return `${e?.name && e.name !== "Error" ? `${e.name}: ` : ""}${message}`;
}
