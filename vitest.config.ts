import { defineConfig } from "vitest/config";

/** Tests of the constructs and the reference stack (synthesis only; handler logic is elsewhere). */
const CONSTRUCT_TESTS = [
  "test/lib/example/**/*.test.ts",
  "test/lib/spool/*.test.ts",
  "test/lib/spool/!(runtime)/*.test.ts",
];

/** Two: one worker left a core idle while the other imported modules (vitest's default is one). */
const UNIT_WORKERS = 2;

export default defineConfig({
  test: {
    // In CI a JSON report lets .ci/run print one plain "N passed, N failed" line.
    reporters: process.env.CI
      ? ["default", ["json", { outputFile: ".spool/vitest-results.json" }]]
      : ["default"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.int.test.ts", ...CONSTRUCT_TESTS],
          environment: "node",
          // Stack synthesis bundles every Lambda with esbuild; give it room on a 2-core machine.
          testTimeout: 60_000,
          maxWorkers: UNIT_WORKERS,
          // vitest 4 refuses projects with different maxWorkers in one group: units run first.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // Construct tests only synthesize: they share no mocks, timers or environment, so one
          // worker runs them in one module graph (isolate: false) instead of importing
          // aws-cdk-lib again for each of them, which cost more than their tests.
          name: "constructs",
          include: CONSTRUCT_TESTS,
          exclude: ["test/**/*.int.test.ts"],
          environment: "node",
          isolate: false,
          testTimeout: 60_000,
          maxWorkers: UNIT_WORKERS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.int.test.ts"],
          environment: "node",
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Integration tests mostly wait on the emulator; run files side by side. The one
          // MiniStack process (and the handlers it runs) is the bottleneck: four files at once
          // left it seconds behind on CI's 2 cores, and tests waiting on timing-bound work
          // (deadlines, health checks, a breaker's drain) failed for load alone, with IAM
          // evaluated (SPOOL_EMULATOR_AUTH=1) and without.
          maxWorkers: 3,
          fileParallelism: true,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
