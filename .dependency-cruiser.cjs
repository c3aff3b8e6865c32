// Import directions, checked by `npm run lint` (dependency-cruiser). The library (lib/spool) is
// what teams copy, so it may depend on nothing of the example or the tools, each construct only
// on its own folder, the shared handler toolkit (lib/spool/runtime) and the constructs it
// declares in lib/spool/catalog.json, and code that runs at synth time never on the AWS SDK or
// Powertools. See docs/contributing.md for the map.
const catalog = require("./lib/spool/catalog.json");

const constructs = Object.entries(catalog.constructs);

/** Files that run at synth time: the top level of each construct folder, the example stack, the app. */
const SYNTH_TIME = "^(lib/spool/[^/]+/[^/]+\\.ts$|lib/example/|bin/)";
/** Files that run in Lambda: every runtime/ folder and the example's handlers. */
const LAMBDA_CODE = "(^lib/spool/runtime/|^lib/spool/[^/]+/runtime/|^lambdas/)";
/**
 * The two synth-time modules of the shared folder: prop validation and the monitoring-kind type
 * that every construct uses. They sit there because every construct's copy includes that folder;
 * no Lambda code may import them (the rule below follows imports to aws-cdk-lib).
 */
const SHARED_SYNTH_TIME = "^lib/spool/runtime/(validation|resource-kind)\\.ts$";

module.exports = {
  forbidden: [
    {
      name: "library-apart-from-example-and-tools",
      comment:
        "lib/spool is copied into other apps: it can import nothing of the example or the tools.",
      severity: "error",
      from: { path: "^lib/spool/" },
      to: { path: "^(lib/example|lambdas|tools|bin)/" },
    },
    {
      name: "example-apart-from-tools",
      comment: "The example (stack and handlers) uses the library, never the tools.",
      severity: "error",
      from: { path: "^(lib/example|lambdas|bin)/" },
      to: { path: "^tools/" },
    },
    {
      name: "toolkit-apart-from-constructs",
      comment:
        "The shared handler toolkit is in every construct's copy: it cannot need a construct folder.",
      severity: "error",
      from: { path: "^lib/spool/runtime/" },
      to: { path: "^lib/spool/", pathNot: "^lib/spool/runtime/" },
    },
    ...constructs.map(([name, entry]) => ({
      name: `closure-of-${name}`,
      comment: `${name} may import its own folder, lib/spool/runtime and what catalog.json declares (${entry.dependsOn.join(", ") || "nothing"}).`,
      severity: "error",
      from: { path: `^lib/spool/${name}/` },
      to: {
        path: "^lib/spool/",
        pathNot: `^lib/spool/(${[name, "runtime", ...entry.dependsOn].join("|")})/`,
      },
    })),
    {
      name: "synth-time-without-sdk",
      comment:
        "Synth-time code must not load the AWS SDK or Powertools: share names through an SDK-free contract module.",
      severity: "error",
      from: { path: SYNTH_TIME, pathNot: "/runtime/" },
      to: { path: "node_modules/(@aws-sdk|@aws-lambda-powertools)/", reachable: true },
    },
    {
      name: "lambda-code-without-cdk",
      comment: "Lambda code must not load aws-cdk-lib (it would be bundled into the function).",
      severity: "error",
      from: { path: LAMBDA_CODE, pathNot: SHARED_SYNTH_TIME },
      to: { path: "node_modules/(aws-cdk-lib|constructs)/", reachable: true },
    },
    {
      name: "agpl-simulator-only-in-the-access-proof",
      comment:
        "@cloud-copilot/iam-simulate is AGPL-3.0: a dev dependency for the access proof only. Besides test/, only tools/scripts/access-proof.ts (npm run access-proof) may reach it, through tools/scripts/access-proof/evaluate.ts; nothing that is deployed, bundled or copied with a construct.",
      severity: "error",
      from: {
        path: "^(bin|lib|lambdas|tools)/",
        pathNot: "^tools/scripts/access-proof(\\.ts$|/evaluate\\.ts$)",
      },
      to: { path: "node_modules/@cloud-copilot/", reachable: true },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^(lib|lambdas|bin)/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // TypeScript 7 has no compiler API for dependency-cruiser to parse with; swc reads the same syntax.
    parser: "swc",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
  },
};
