/**
 * The unit project alone, for mutation testing (stryker.config.mjs): Stryker's vitest runner
 * runs the tests that cover each mutant, in-process; the e2e project needs the lab and never
 * runs here.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    // isolate stays on (vitest's default): tried off (2026-11-27), modules kept between mutants
    // carried what one mutant computed and cached into the next one's run, and the safety group
    // "killed" 253 of its first 255 mutants where the isolated run left 17 of 184 alive
    isolate: true,
    // these drive the CLI, the state files and ssh as child processes or through real locks:
    // they test the I/O layers, which are not mutated, and take most of the suite's time
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
