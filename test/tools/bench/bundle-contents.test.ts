import { describe, expect, it } from "vitest";
import { contributorOf, contributors } from "../../../tools/bench/bundle-contents.js";

describe("bundle contents from esbuild's metafile", () => {
  it("counts a file towards its npm package, scoped or not, else its folder", () => {
    expect(contributorOf("../../main/node_modules/@smithy/core/dist-es/submodules/a.js")).toBe(
      "@smithy/core",
    );
    expect(contributorOf("node_modules/zod/v4/core/schemas.js")).toBe("zod");
    expect(contributorOf("node_modules/a/node_modules/@aws-sdk/core/x.js")).toBe("@aws-sdk/core");
    expect(contributorOf("lib/spool/runtime/sqs-consumer.ts")).toBe("lib/spool/runtime");
  });

  it("adds up the bytes each contributor puts in the bundle, largest first", () => {
    const metafile = {
      outputs: {
        "index.mjs.map": { inputs: {} },
        "cdk.out/asset.x/index.mjs": {
          inputs: {
            "node_modules/zod/v4/core/schemas.js": { bytesInOutput: 300 },
            "node_modules/zod/v4/core/util.js": { bytesInOutput: 200 },
            "node_modules/@smithy/core/dist-es/a.js": { bytesInOutput: 400 },
            "lib/spool/runtime/errors.ts": { bytesInOutput: 50 },
          },
        },
      },
    };
    expect(contributors(metafile)).toEqual([
      { name: "zod", bytes: 500 },
      { name: "@smithy/core", bytes: 400 },
      { name: "lib/spool/runtime", bytes: 50 },
    ]);
  });
});
