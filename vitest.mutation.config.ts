/**
 * The unit project alone, for mutation testing (stryker.config.mjs): Stryker's vitest runner
 * runs the tests that cover each mutant, in-process; the e2e project needs the lab and never
 * runs here.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    // these drive the CLI, the state files and ssh as child processes or through real locks:
    // they test the I/O layers, which are not mutated, and take most of the suite's time
    // Stryker switches mutants on at run time (one instrumented copy of the code): modules need
    // not be loaded again for every mutant, and loading them again was most of each mutant's time
    isolate: false,
    exclude: [
      "test/unit/cli-*.test.ts",
      "test/unit/state-*.test.ts",
      "test/unit/lock-timeout.test.ts",
      "test/unit/exclusive-file.test.ts",
      "test/unit/handover.test.ts",
      "test/unit/ssh-failures.test.ts",
      "test/unit/layers.test.ts",
    ],
  },
});
