import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  closureOf,
  importSpecifiers,
  LIBRARY_DIR,
  readCatalog,
} from "../../../tools/cli/lib/closure.js";
import { copySection, readmePath, withCopySection } from "../../../tools/scripts/catalog.js";
import { usageExample } from "../../helpers/scratch-app.js";

const catalog = readCatalog();
const names = Object.keys(catalog.constructs);

describe("the library's catalog", () => {
  it("lists every construct folder of lib/spool, and nothing else", () => {
    const folders = readdirSync(LIBRARY_DIR)
      .filter((name) => statSync(join(LIBRARY_DIR, name)).isDirectory() && name !== "runtime")
      .sort();
    expect([...names].sort()).toEqual(folders);
  });

  it("declares only constructs it knows, and no construct depends on itself", () => {
    for (const [name, entry] of Object.entries(catalog.constructs)) {
      for (const other of [...entry.dependsOn, ...entry.companions]) {
        expect(names, `${name} → ${other}`).toContain(other);
        expect(other).not.toBe(name);
      }
    }
  });

  it.each(names)("%s: its closure resolves (no import outside what it declares)", (name) => {
    const closure = closureOf(name);
    expect(closure.constructs[0]).toBe(name);
    expect(closure.files.some((f) => f.startsWith(`${name}/`))).toBe(true);
    expect(closure.dependencies.map((d) => d.name)).toEqual(
      expect.arrayContaining(["aws-cdk-lib", "constructs"]),
    );
  });

  it.each(names)("%s: its README's Copy it section says what the code needs", (name) => {
    const readme = readFileSync(readmePath(name), "utf8");
    expect(
      withCopySection(readme, copySection(closureOf(name))),
      "out of date: run npm run catalog",
    ).toBe(readme);
  });

  // The usage example's handler files are the user's code: whatever toolkit module they import
  // must be copied with the construct (catalog `toolkit`), or the copied app does not compile.
  it.each(names)("%s: the toolkit modules its usage example imports are in its closure", (name) => {
    const copied = new Set(closureOf(name).toolkitFiles);
    for (const source of usageExample(name).files.values()) {
      for (const specifier of importSpecifiers(source)) {
        const module = /\/spool\/runtime\/([\w-]+)\.js$/.exec(specifier)?.[1];
        if (module)
          expect(copied, `${specifier}: add it to catalog.json toolkit`).toContain(
            `runtime/${module}.ts`,
          );
      }
    }
  });

  it.each(names)("%s: its README opens with a usage example the copy test can build", (name) => {
    const example = usageExample(name);
    expect(example.body.length).toBeGreaterThan(0);
    expect(example.imports.some((i) => i.includes(`./spool/${name}/index.js`))).toBe(true);
  });
});
