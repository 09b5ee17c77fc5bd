// Mutation testing of the pure core (docs/testing.md): `npm run test:mutation`.
// Incremental: results are kept in reports/mutation/incremental.json (not in git), so a
// second run re-tests only mutants whose code or covering tests changed.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  coverageAnalysis: "perTest",
  checkers: ["typescript"],
  tsconfigFile: "tsconfig.json",
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    "provider/model/argv.ts",
    "provider/model/echo.ts",
    "provider/zfs/**/*.ts",
    "provider/wg/**/*.ts",
    "provider/schema/**/*.ts",
    "!provider/schema/generate.ts",
    "provider/resources/**/*.ts",
    "provider/engine/plan.ts",
    "provider/engine/render.ts",
    "provider/engine/delete-order.ts",
    "provider/engine/batch.ts",
    "provider/engine/saved-plan.ts",
    "provider/engine/load.ts",
    "provider/engine/apply-schedule.ts",
  ],
  incremental: true,
  incrementalFile: "reports/mutation/incremental.json",
  reporters: ["progress", "clear-text", "json", "html"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  concurrency: 2,
  timeoutMS: 20000,
  tempDirName: ".stryker-tmp",
  ignoreStatic: true,
  thresholds: { high: 85, low: 70, break: null },
};
