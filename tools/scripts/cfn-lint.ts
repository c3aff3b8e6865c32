/**
 * cfn-lint over the real-AWS synth: the template `cdk deploy` would send, checked against
 * CloudFormation's own resource schemas (what no emulator enforces). Rules we ignore are listed
 * with their reasons in .cfnlintrc.
 *
 *   npm run lint:cfn                       # the reference stack, for AWS
 *   npm run lint:cfn -- <template.json>    # any template
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ensurePythonTool, ROOT, STATE_DIR } from "./emulator.js";
import { awsTemplate } from "./lib/aws-template.js";

const run = promisify(execFile);

export interface CfnLintFinding {
  readonly Rule: { readonly Id: string; readonly Description: string };
  readonly Level: "Error" | "Warning" | "Informational";
  readonly Message: string;
  readonly Location: { readonly Path?: readonly (string | number)[] };
}

/** The pinned cfn-lint, installed into .spool/cfn-lint when missing or out of date. */
export function ensureCfnLint(): string {
  const python = ensurePythonTool({
    venv: join(STATE_DIR, "cfn-lint"),
    requirements: join(ROOT, "tools", "cfn-lint", "requirements.txt"),
    what: "cfn-lint",
  });
  return join(python, "..", "cfn-lint");
}

/** Every finding cfn-lint reports for the template (with .cfnlintrc's ignores applied). */
export async function cfnLint(template: unknown): Promise<CfnLintFinding[]> {
  const bin = ensureCfnLint();
  const dir = mkdtempSync(join(tmpdir(), "spool-cfn-lint-"));
  try {
    const path = join(dir, "template.json");
    writeFileSync(path, JSON.stringify(template));
    // cfn-lint exits non-zero when it finds anything; the JSON on stdout is the answer.
    const result = await run(bin, ["--format", "json", path], { cwd: ROOT }).catch(
      (error: { stdout?: string; code?: number; stderr?: string }) => {
        if (error.stdout === undefined || error.stdout === "") {
          throw new Error(`cfn-lint failed (exit ${error.code}): ${error.stderr ?? ""}`);
        }
        return { stdout: error.stdout };
      },
    );
    return JSON.parse(result.stdout || "[]") as CfnLintFinding[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatFinding(f: CfnLintFinding): string {
  return `${f.Level} ${f.Rule.Id} at ${(f.Location.Path ?? []).join("/")}: ${f.Message}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const path = process.argv[2];
  const template = path ? JSON.parse(readFileSync(path, "utf8")) : awsTemplate();
  const findings = await cfnLint(template);
  for (const finding of findings) console.log(formatFinding(finding));
  const errors = findings.filter((f) => f.Level === "Error").length;
  console.error(`cfn-lint: ${errors} errors, ${findings.length - errors} other findings`);
  process.exitCode = errors ? 1 : 0;
}
