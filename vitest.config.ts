import { defineConfig } from "vitest/config";

/**
 * The e2e files that start their own ns-tier hosts (network namespaces, zfs-fuse): they need
 * no vm-tier guest, so they run before the vm lab is up — while CI's image build, when the
 * image is not cached, still runs in the background (.ci/run).
 */
const NS_TIER = ["test/e2e/ns-tier.test.ts", "test/e2e/races.test.ts", "test/e2e/crash-at-every-step.test.ts"];

/**
 * The vm-tier files that mostly wait for systemd timers' minute ticks (≈14 min of a CI run):
 * test/run.sh runs them on a lab of their own, beside the other vm-tier files.
 */
const TIMERS = ["test/e2e/schedules.test.ts"];

const VM = {
  globalSetup: ["test/e2e/global-setup.ts"],
  // Real hosts under software emulation: minutes, not milliseconds.
  testTimeout: 600_000,
  hookTimeout: 1_800_000,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e-ns",
          include: NS_TIER,
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          exclude: [...NS_TIER, ...TIMERS],
          ...VM,
        },
      },
      {
        test: {
          name: "e2e-timers",
          include: TIMERS,
          ...VM,
        },
      },
    ],
  },
});
