import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * vitest's own order (slowest and failed first, from its cache), except that the files that
 * reboot a guest go last on their lab (the timer tests reboot prod, wireguard h3): a guest that
 * does not come back fails every file after it on that lab, not only its own.
 */
const REBOOTING = ["/test/e2e/schedules.test.ts", "/test/e2e/wireguard.test.ts"];
class RebootLast extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (f: TestSpecification) => (REBOOTING.some((p) => f.moduleId.endsWith(p)) ? 1 : 0);
    return [...sorted].sort((a, b) => last(a) - last(b));
  }
}

/**
 * The e2e files that start their own ns-tier hosts (network namespaces, zfs-fuse): they need
 * no vm-tier guest, so they run before the vm lab is up — while CI's image build, when the
 * image is not cached, still runs in the background (.ci/run).
 */
const NS_TIER = ["test/e2e/ns-tier.test.ts", "test/e2e/races.test.ts", "test/e2e/crash-at-every-step.test.ts"];

/**
 * vm-tier files that need only the hosts prod and dr: test/run.sh runs them on a second lab of
 * two guests, beside the other vm-tier files. The timer tests mostly wait for systemd timers'
 * minute ticks (≈14 min alone); replication, restore and ownership (≈14 min) moved there from
 * the main lab when a cold CI run took 78 min, the main vm run 50 of them: the two runs' files
 * took ≈2,050 s and ≈1,820 s of that run.
 */
const SIDE = ["test/e2e/schedules.test.ts", "test/e2e/replication.test.ts", "test/e2e/restore.test.ts", "test/e2e/ownership.test.ts"];

const VM = {
  globalSetup: ["test/e2e/global-setup.ts"],
  // Real hosts under software emulation: minutes, not milliseconds.
  testTimeout: 600_000,
  hookTimeout: 1_800_000,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    sequence: { sequencer: RebootLast },
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
          exclude: [...NS_TIER, ...SIDE],
          ...VM,
        },
      },
      {
        test: {
          name: "e2e-side",
          include: SIDE,
          ...VM,
        },
      },
    ],
  },
});
