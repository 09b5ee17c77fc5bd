/**
 * Ctrl-C during an apply on real hosts (real OpenSSH with its ControlMaster, real ZFS): sent
 * as a terminal sends it, to the command's whole process group. The first lets the batch prod
 * is running finish — the multiplexed ssh session is not cut under it — records it, starts
 * nothing more and exits 130 with the lock released; a second exits at once naming what it
 * abandons, and the next apply adopts what the abandoned batch made. A `zfs` wrapper put
 * first on prod's PATH for the test holds `zfs create .../slow` for a few seconds.
 * (Unit tier: test/unit/cli-long-runs.test.ts, with a fake ssh.)
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expectConverges, project, resetHosts, sh, ROOT } from "./helpers.js";

const SECONDS = 8;
const WRAPPER = `#!/bin/sh
for last; do :; done
if [ "$1" = create ]; then case "$last" in */slow) touch /run/backplane-test-slow-started; sleep ${SECONDS};; esac; fi
exec /usr/sbin/zfs "$@"
`;

/** prod: a pool, a slow dataset, one after it (the next batch), one more after that. */
const STACK = `
  const prod = new Host(stack, "prod", hostProps(prodInv));
  const pool = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]] });
  const slow = prod.dataset("slow", { name: "tank/slow", dependsOn: [pool] });
  const after = prod.dataset("after", { name: "tank/slow/after", dependsOn: [slow] });
  prod.dataset("last", { name: "tank/slow/after/last", dependsOn: [after] });
`;

function applyInGroup(dir: string) {
  const child = spawn(join(ROOT, "bin", "backplane.mjs"), ["apply", "--auto-approve"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let [stdout, stderr] = ["", ""];
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return {
    out: () => stdout + stderr,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: new Promise<number | null>((r) => child.once("close", (code) => r(code))),
    ctrlC: () => process.kill(-child.pid!, "SIGINT"),
  };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 300_000): Promise<void> {
  for (const t0 = Date.now(); !(await ok()); await new Promise((r) => setTimeout(r, 100))) if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
}

const startedOnProd = async () => (await sh("prod", "[ -f /run/backplane-test-slow-started ] && echo yes || echo no")).trim() === "yes";
const datasetsOnProd = async () => (await sh("prod", "zfs list -H -o name -r tank 2>/dev/null || true")).trim().split("\n").filter(Boolean);

/** From clean hosts, a new stack's apply in its own process group, once prod runs the slow create. */
async function applyUntilSlowStarts(name: string) {
  await resetHosts();
  const p = await project(name, STACK);
  await sh("prod", "rm -f /run/backplane-test-slow-started");
  const run = applyInGroup(p);
  await until("zfs create tank/slow on prod", startedOnProd);
  return { p, run };
}

describe("Ctrl-C during apply (vm tier)", () => {
  beforeAll(async () => {
    await sh("prod", `for d in /usr/local/sbin /usr/local/bin; do mkdir -p $d; cat > $d/zfs <<'EOF'\n${WRAPPER}EOF\nchmod 755 $d/zfs; done; rm -f /run/backplane-test-slow-started`);
    // the wrapper is the zfs a batch runs (sshd's PATH for the lab's user)
    expect((await sh("prod", "command -v zfs")).trim()).toMatch(/^\/usr\/local\/s?bin\/zfs$/);
  });
  afterAll(async () => {
    await sh("prod", "rm -f /usr/local/sbin/zfs /usr/local/bin/zfs /run/backplane-test-slow-started");
  });

  it("the first lets the running batch finish over the real session, records it, starts nothing more, exits 130, lock released", async () => {
    const { p, run } = await applyUntilSlowStarts("ctrl-c-once");
    run.ctrlC();
    const code = await run.exited;
    console.log(`ctrl-c once: exit ${code}\n${run.out()}`);
    expect(code, run.out()).toBe(130);
    expect(run.stderr()).toContain("Interrupt received. Stopping after the changes already running; state is saved. Press Ctrl-C again to abandon them.");
    expect(run.stdout()).toMatch(/backplane_dataset\.prod_slow\S*: Creation complete after \d+s \[tank\/slow on prod\]/);
    expect(run.stderr()).toMatch(/not started: .*backplane_dataset\.prod_after/);
    const state = JSON.parse(readFileSync(join(p, "terraform.tfstate"), "utf8")) as { resources: Record<string, { id: string }> };
    expect(Object.values(state.resources).map((r) => r.id).sort()).toEqual(["tank", "tank/slow"]);
    expect(await datasetsOnProd()).toEqual(["tank", "tank/slow"]);
    expect(existsSync(join(p, "terraform.tfstate.lock.json"))).toBe(false);
    await expectConverges(p, {}, "after a graceful stop");
  });

  it("a second exits at once naming what it abandons; the next apply adopts what the batch made", async () => {
    const { p, run } = await applyUntilSlowStarts("ctrl-c-twice");
    run.ctrlC();
    await until("the interrupt to be acknowledged", () => run.stderr().includes("Interrupt received."), 30_000);
    const t0 = Date.now();
    run.ctrlC();
    const code = await run.exited;
    console.log(`ctrl-c twice: exit ${code} after ${((Date.now() - t0) / 1000).toFixed(1)} s\n${run.out()}`);
    expect(code, run.out()).toBe(130);
    expect(Date.now() - t0).toBeLessThan(SECONDS * 1000);
    expect(run.stderr()).toMatch(/Second interrupt: exiting now, abandoning what is still running on hosts:\n {2}- backplane_dataset\.prod_slow\S* \[tank\/slow on prod\]: creating for \d+s/);
    expect(existsSync(join(p, "terraform.tfstate.lock.json"))).toBe(false);
    // whatever the cut batch did on prod (the wrapper's sleep ends, zfs create may or may not run), the next apply converges
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    await expectConverges(p, {}, "after abandoning");
  });
});
