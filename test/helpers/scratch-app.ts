import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { LIBRARY_DIR } from "../../tools/cli/lib/closure.js";
import { runSpool } from "../../tools/cli/spool.js";
import { deployLocal } from "../../tools/scripts/deploy-local.js";
import { ROOT } from "../../tools/scripts/emulator.js";

/**
 * Scratch CDK apps for the copy test: a blank app made the way `cdk init app --language
 * typescript` makes one (CommonJS), or the same app as ESM, into which `spool add` copies one
 * construct, and in which the construct README's first usage example is written into a stack.
 *
 * The app's package.json holds aws-cdk-lib, constructs and what `spool add` says to install,
 * plus the tools cdk init puts there (typescript, tsx, aws-cdk, @types/node) and cdk-nag for the
 * check. Installs are shared: node_modules holds a link per listed package into this checkout's
 * node_modules, and nothing else, so an import of a package nobody declared does not resolve.
 */

const run = promisify(execFile);
const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);

export type ModuleSystem = "esm" | "commonjs";

export interface ScratchApp {
  readonly dir: string;
  readonly construct: string;
  readonly moduleSystem: ModuleSystem;
  readonly stackName: string;
}

const TOOLING = ["typescript", "tsx", "aws-cdk", "@types/node", "cdk-nag"] as const;

function projectVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const version = manifest.dependencies[name] ?? manifest.devDependencies[name];
  if (!version) throw new Error(`${name} is not in Spool's package.json`);
  return version;
}

const templates = new Map<string, Promise<string>>();

/** The files `cdk init app --language typescript --generate-only` writes, made once per root. */
function initTemplate(root: string): Promise<string> {
  let template = templates.get(root);
  if (!template) {
    const dir = join(root, "_cdk-init", "scratch");
    mkdirSync(dir, { recursive: true });
    template = run(bin("cdk"), ["init", "app", "--language", "typescript", "--generate-only"], {
      cwd: dir,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true" },
    }).then(() => dir);
    templates.set(root, template);
  }
  return template;
}

export interface UsageExample {
  /** Files the example writes (path relative to the app → content). */
  readonly files: ReadonlyMap<string, string>;
  /** The `// in your stack` block: its imports and its body. */
  readonly imports: readonly string[];
  readonly body: string;
}

/**
 * The first usage example of a construct README: the TypeScript blocks under its "## Usage"
 * heading. A block whose first line is `// <path>` is a file of the app; the block whose first
 * line is `// in your stack` is the code of a stack's constructor (its imports go on top).
 */
export function usageExample(construct: string): UsageExample {
  const readme = readFileSync(join(LIBRARY_DIR, construct, "README.md"), "utf8");
  const section = /^## Usage\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error(`${construct}/README.md has no "## Usage" section`);
  const files = new Map<string, string>();
  let stack: string | undefined;
  for (const match of section.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const code = match[1] as string;
    const first = code.split("\n")[0]?.trim() ?? "";
    if (first === "// in your stack") {
      stack ??= code.split("\n").slice(1).join("\n");
      continue;
    }
    const path = /^\/\/ ([\w./-]+\.ts)\b/.exec(first)?.[1];
    if (path) files.set(path, code.split("\n").slice(1).join("\n"));
  }
  if (!stack) throw new Error(`${construct}/README.md: the usage has no "// in your stack" block`);
  const lines = stack.split("\n");
  // Imports run until the first line that is not part of an import statement.
  const imports: string[] = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index] as string;
    if (!/^import\b/.test(line)) break;
    let statement = line;
    while (!/from\s+["'][^"']+["'];?\s*$/.test(statement) && index + 1 < lines.length) {
      index += 1;
      statement += `\n${lines[index]}`;
    }
    imports.push(statement);
    index += 1;
  }
  return { files, imports, body: lines.slice(index).join("\n").trim() };
}

function stackSource(example: UsageExample): string {
  return `import { CfnOutput, CfnResource, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
${example.imports.join("\n")}

export class ScratchStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    ${example.body.split("\n").join("\n    ")}

    // Added by the copy test: each resource's reference, so the smoke check can find it.
    let index = 0;
    for (const child of this.node.findAll()) {
      if (!CfnResource.isCfnResource(child) || child.cfnResourceType.startsWith("AWS::CDK")) continue;
      new CfnOutput(this, \`Ref\${index++}\`, {
        value: child.ref,
        description: \`\${child.cfnResourceType} \${child.node.path}\`,
      });
    }
  }
}
`;
}

const appSource = (stackName: string) => `import { writeFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { ScratchStack } from "../lib/scratch-stack.js";

const app = new App();
const stack = new ScratchStack(app, "${stackName}", {
  env: { account: "000000000000", region: process.env.AWS_REGION ?? "us-east-1" },
});
app.synth();
// cdk-nag's two packs over the synthesized stack: every finding nobody acknowledged.
const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
  pack.validateScope(stack).violations.map(
    (v) => \`\${v.ruleName}: \${v.violatingResources.map((r) => r.locations?.join(" ") ?? r.resourceLogicalId).join(", ")}\`,
  ),
);
if (process.env.NAG_REPORT) writeFileSync(process.env.NAG_REPORT, JSON.stringify(findings));
`;

export async function createScratchApp(
  root: string,
  construct: string,
  moduleSystem: ModuleSystem,
  purpose = "synth",
): Promise<ScratchApp> {
  const template = await initTemplate(root);
  const dir = join(root, purpose, `${construct}-${moduleSystem}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(template, dir, { recursive: true });
  // No jest here: the check compiles and synthesizes, it runs no unit tests of the app.
  rmSync(join(dir, "test"), { recursive: true, force: true });
  rmSync(join(dir, "jest.config.js"), { force: true });
  rmSync(join(dir, "bin"), { recursive: true, force: true });
  rmSync(join(dir, "lib"), { recursive: true, force: true });
  const tsconfig = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8"));
  tsconfig.compilerOptions.types = ["node"];
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));

  const manifest = {
    name: `spool-copy-${construct}`,
    version: "0.1.0",
    private: true,
    ...(moduleSystem === "esm" ? { type: "module" } : {}),
    dependencies: {
      "aws-cdk-lib": projectVersion("aws-cdk-lib"),
      constructs: projectVersion("constructs"),
    } as Record<string, string>,
    devDependencies: Object.fromEntries(TOOLING.map((t) => [t, projectVersion(t)])) as Record<
      string,
      string
    >,
  };
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));

  const out: string[] = [];
  const io = {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => out.push(text) },
  };
  const code = await runSpool(["add", construct, "--app", dir, "--json"], { io });
  if (code !== 0) throw new Error(`spool add ${construct} exited ${code}: ${out.join("")}`);
  const result = JSON.parse(out.join("")) as {
    missingDependencies: { name: string; version: string; dev: boolean }[];
  };
  // What a user does next: install what spool add printed.
  for (const d of result.missingDependencies) {
    (d.dev ? manifest.devDependencies : manifest.dependencies)[d.name] = d.version;
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  // NodejsFunction finds the app's root by its lock file.
  writeFileSync(
    join(dir, "package-lock.json"),
    JSON.stringify({ name: manifest.name, lockfileVersion: 3, requires: true, packages: {} }),
  );
  for (const name of [
    ...Object.keys(manifest.dependencies),
    ...Object.keys(manifest.devDependencies),
  ]) {
    const link = join(dir, "node_modules", name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", name), link, "dir");
  }

  const example = usageExample(construct);
  for (const [path, content] of example.files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  mkdirSync(join(dir, "lib"), { recursive: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  writeFileSync(join(dir, "lib", "scratch-stack.ts"), stackSource(example));
  const stackName = `SpoolCopy${construct.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}`;
  writeFileSync(join(dir, "bin", "scratch.ts"), appSource(stackName));
  return { dir, construct, moduleSystem, stackName };
}

/** `tsc --noEmit` with the app's own tsconfig (strict, NodeNext, as cdk init writes it). */
export async function compile(app: ScratchApp): Promise<void> {
  try {
    await run(bin("tsc"), ["--noEmit", "--strict", "-p", app.dir], { cwd: app.dir });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc failed in ${app.dir}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

/** Synthesizes the app (esbuild bundles its functions) and returns cdk-nag's findings. */
export async function synthesize(app: ScratchApp): Promise<string[]> {
  const report = join(app.dir, "nag.json");
  try {
    await run(bin("tsx"), ["bin/scratch.ts"], {
      cwd: app.dir,
      env: {
        ...process.env,
        CDK_OUTDIR: join(app.dir, "cdk.out"),
        NAG_REPORT: report,
      },
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`synth failed in ${app.dir}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
  return JSON.parse(readFileSync(report, "utf8")) as string[];
}

/** Deploys the app to the emulator (bootstrapped by the integration setup); its outputs. */
export async function deploy(app: ScratchApp): Promise<Record<string, string>> {
  const { outputs } = await deployLocal({
    quiet: true,
    stack: app.stackName,
    cwd: app.dir,
    app: { command: "npx tsx bin/scratch.ts", output: "cdk.out" },
  });
  return outputs;
}

/** A deployed scratch app's resources by construct path (from the outputs the stack adds). */
export function resourceOf(
  app: ScratchApp,
  outputs: Record<string, string>,
  type: string,
  pathSuffix: string,
): string {
  const template = JSON.parse(
    readFileSync(join(app.dir, "cdk.out", `${app.stackName}.template.json`), "utf8"),
  ) as { Outputs: Record<string, { Description?: string }> };
  const wanted = `${type} ${app.stackName}/${pathSuffix}`;
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Description === wanted && outputs[key]) return outputs[key];
  }
  throw new Error(`${app.stackName} has no deployed ${wanted}`);
}
