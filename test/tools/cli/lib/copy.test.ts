import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closureOf } from "../../../../tools/cli/lib/closure.js";
import {
  applyCopy,
  installCommands,
  MANIFEST,
  planCopy,
  toCommonJs,
} from "../../../../tools/cli/lib/copy.js";

let app: string;
const makeApp = (type?: "module") => {
  writeFileSync(join(app, "cdk.json"), "{}");
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({
      name: "app",
      ...(type ? { type } : {}),
      dependencies: { "aws-cdk-lib": "2.0.0", constructs: "10.0.0" },
    }),
  );
};

beforeEach(() => {
  app = mkdtempSync(join(tmpdir(), "spool-copy-unit-"));
});
afterEach(() => rmSync(app, { recursive: true, force: true }));

describe("planning a copy", () => {
  it("copies the closure into an empty app, keeping the library's shape", () => {
    makeApp();
    const plan = planCopy([closureOf("queue-consumer")], app, "lib/spool");
    expect(plan.files.every((f) => f.action === "new")).toBe(true);
    const paths = plan.files.map((f) => f.path);
    expect(paths).toContain("queue-consumer/queue-consumer.ts");
    expect(paths).toContain("spool-function/spool-function.ts");
    expect(paths).toContain("runtime/sqs-consumer.ts");
    expect(paths).not.toContain("transactional-outbox/transactional-outbox.ts");
    applyCopy(plan);
    expect(readFileSync(join(app, "lib/spool/runtime/sqs-consumer.ts"), "utf8")).toContain(
      "createSqsConsumer",
    );
  });

  it("lists only the dependencies the app does not have, pinned to Spool's versions", () => {
    makeApp();
    const plan = planCopy([closureOf("queue-consumer")], app, "lib/spool");
    expect(plan.present.map((d) => d.name).sort()).toEqual(["aws-cdk-lib", "constructs"]);
    const missing = plan.missing.map((d) => d.name);
    expect(missing).toContain("@aws-lambda-powertools/batch");
    expect(missing).toContain("esbuild");
    const [runtime, dev] = installCommands(plan.missing);
    expect(runtime).toMatch(/^npm install --save-exact .*@aws-lambda-powertools\/batch@\d/);
    expect(dev).toMatch(/^npm install --save-dev --save-exact .*esbuild@\d/);
  });

  it("updates its own untouched earlier copy, and leaves an identical file alone", () => {
    makeApp();
    applyCopy(planCopy([closureOf("reliable-queue")], app, "lib/spool"));
    const target = join(app, "lib/spool/reliable-queue/reliable-queue.ts");
    // An older Spool wrote a different version; the manifest says it was Spool's.
    writeFileSync(target, "// an older version\n");
    const manifest = JSON.parse(readFileSync(join(app, "lib/spool", MANIFEST), "utf8"));
    manifest.files["reliable-queue/reliable-queue.ts"] = createHash("sha256")
      .update("// an older version\n")
      .digest("hex");
    writeFileSync(join(app, "lib/spool", MANIFEST), JSON.stringify(manifest));
    const plan = planCopy([closureOf("reliable-queue")], app, "lib/spool");
    const action = (path: string) => plan.files.find((f) => f.path === path)?.action;
    expect(action("reliable-queue/reliable-queue.ts")).toBe("update");
    expect(action("reliable-queue/index.ts")).toBe("unchanged");
  });

  it("refuses to overwrite a file the user changed, and writes nothing", () => {
    makeApp();
    applyCopy(planCopy([closureOf("reliable-queue")], app, "lib/spool"));
    const changed = join(app, "lib/spool/reliable-queue/reliable-queue.ts");
    writeFileSync(changed, `${readFileSync(changed, "utf8")}\n// my tweak\n`);
    rmSync(join(app, "lib/spool/reliable-queue/index.ts"));
    const plan = planCopy([closureOf("reliable-queue")], app, "lib/spool");
    expect(plan.files.filter((f) => f.action === "conflict").map((f) => f.path)).toEqual([
      "reliable-queue/reliable-queue.ts",
    ]);
    expect(() => applyCopy(plan)).toThrow(/conflicts; nothing was written/);
    // The deleted file was not restored: a refusal copies nothing at all.
    expect(() => readFileSync(join(app, "lib/spool/reliable-queue/index.ts"))).toThrow();
  });

  it("rewrites the ESM-only lookups for a CommonJS app and keeps them for an ESM app", () => {
    makeApp();
    const cjs = planCopy([closureOf("transactional-outbox")], app, "lib/spool");
    const construct = (plan: typeof cjs) =>
      plan.files.find((f) => f.path === "transactional-outbox/transactional-outbox.ts")?.content;
    expect(cjs.moduleSystem).toBe("commonjs");
    expect(construct(cjs)).toContain('join(__dirname, "./runtime/publish-handler.ts")');
    expect(construct(cjs)).not.toContain("import.meta");
    rmSync(app, { recursive: true });
    mkdirSync(app);
    makeApp("module");
    const esm = planCopy([closureOf("transactional-outbox")], app, "lib/spool");
    expect(esm.moduleSystem).toBe("esm");
    expect(construct(esm)).toContain("import.meta.url");
  });
});

describe("the CommonJS rewrite", () => {
  it("turns fileURLToPath(new URL(p, import.meta.url)) into join(__dirname, p)", () => {
    const source = [
      'import { fileURLToPath } from "node:url";',
      "const ENTRY = fileURLToPath(",
      '  new URL("./runtime/handler.ts", import.meta.url),',
      ");",
    ].join("\n");
    const out = toCommonJs(source, "x.ts");
    expect(out).toContain('join(__dirname, "./runtime/handler.ts")');
    expect(out).toContain('import { join } from "node:path";');
    expect(out).not.toContain("node:url");
  });

  it("leaves import.meta inside a string alone (an ESM bundle banner)", () => {
    const source = 'const banner = "const require=createRequire(import.meta.url);";';
    expect(toCommonJs(source, "x.ts")).toBe(source);
  });

  it("refuses ESM-only code it cannot rewrite, naming the file", () => {
    expect(() => toCommonJs("const here = import.meta.dirname;", "a/b.ts")).toThrow(
      "a/b.ts uses import.meta in a way spool add cannot rewrite for CommonJS",
    );
  });
});
