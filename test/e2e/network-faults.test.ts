/**
 * Network faults on the vm tier (real guests, real sshd): a host stopped mid-apply (its qemu
 * process frozen with SIGSTOP: to the operator, a cut link), and a host whose sshd hangs.
 * Neither blocks the apply or the plan beyond the host's timeout; the other host's work
 * completes; the error says what finished, what failed and what is unknown; state is saved
 * and the lock released; after the host returns, plan + apply converge.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { execa } from "execa";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LAB_DIR } from "../lab/hosts.js";
import { backplane, expectConverges, project, resetHosts, sh, ROOT } from "./helpers.js";

const qemuPid = (host: string) => Number(readFileSync(join(LAB_DIR, host, "qemu.pid"), "utf8").trim());

/** prod: a chain of five datasets (five batches, one after another); dr: four side by side. */
const STACK = `
  const prod = new Host(stack, "prod", { ...hostProps(prodInv), commandTimeout: 20 });
  const dr = new Host(stack, "dr", hostProps(drInv));
  const ppool = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]] });
  let parent: any = ppool;
  let name = "tank";
  for (let i = 1; i <= 5; i++) {
    name = name + "/n" + i;
    parent = prod.dataset("n" + i, { name, dependsOn: [parent] });
  }
  const dpool = dr.pool("tank", { name: "tank", vdevs: [drInv.disks[0]] });
  for (let i = 1; i <= 4; i++) dr.dataset("d" + i, { name: "tank/d" + i, dependsOn: [dpool] });
`;

describe("network faults (vm tier)", () => {
  beforeAll(resetHosts);

  it("a host cut off mid-apply: the other host completes, the error says done / unknown / not done, state saved, lock released; then it converges", async () => {
    const p = await project("net-cut", STACK);
    const pid = qemuPid("prod");
    const t0 = Date.now();
    const child = execa(join(ROOT, "bin", "backplane.mjs"), ["apply", "--auto-approve"], { cwd: p, reject: false, env: { NO_COLOR: "1" } });
    let frozen = false;
    child.stdout!.on("data", (chunk: Buffer) => {
      // freeze prod right after its first dataset is reported: the next batch meets a dead link
      if (!frozen && /tank\/n1 \(prod\): Creation complete/.test(chunk.toString())) {
        frozen = true;
        process.kill(pid, "SIGSTOP");
      }
    });
    let r;
    try {
      r = await child;
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const seconds = (Date.now() - t0) / 1000;
    const out = String(r.stdout) + String(r.stderr);
    console.log(`network cut: apply returned after ${seconds.toFixed(1)} s (prod frozen: ${frozen}), exit ${r.exitCode}\n${String(r.stderr).trim()}`);
    expect(frozen, out).toBe(true);
    expect(r.exitCode, out).toBe(1);
    // prod's timeout (20 s), not forever
    expect(seconds).toBeLessThan(120);
    expect(out).toMatch(/outcome unknown \(the connection was lost/);
    expect(out).toMatch(/no answer within 20 s \(the host's command_timeout\)/);
    expect(out).toMatch(/completed: .*backplane_dataset\.dr_d1/);
    expect(out).toMatch(/not done: .*backplane_dataset\.prod_n5/);
    // state saved with dr's work and prod's first dataset; lock released
    const state = JSON.parse(readFileSync(join(p, "terraform.tfstate"), "utf8")) as { resources: Record<string, { id: string; host: string }> };
    const ids = Object.values(state.resources).map((x) => `${x.host}:${x.id}`);
    for (const d of ["dr:tank/d1", "dr:tank/d2", "dr:tank/d3", "dr:tank/d4", "prod:tank/n1"]) expect(ids).toContain(d);
    expect(existsSync(join(p, "terraform.tfstate.lock.json"))).toBe(false);

    // the link is back: plan adopts what the lost batch may have made, apply converges
    await sh("prod", "true");
    await expectConverges(p, {}, "after the cut");
  });

  it("a host whose sshd hangs: the plan gives up after the connect timeout instead of blocking", async () => {
    const p = await project("net-hang", STACK.replace("commandTimeout: 20", "commandTimeout: 20, connectTimeout: 8"));
    // inside prod: stop every sshd 2 s from now, resume them 30 s later (the test cannot reach a stopped host to resume it)
    await sh("prod", "setsid sh -c 'sleep 2; pkill -STOP -x sshd; sleep 30; pkill -CONT -x sshd' </dev/null >/dev/null 2>&1 &");
    await new Promise((r) => setTimeout(r, 3000));
    const t0 = Date.now();
    const plan = await backplane(p, ["plan"]);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`sshd hung: plan returned after ${seconds.toFixed(1)} s, exit ${plan.exitCode}: ${plan.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    expect(plan.exitCode).toBe(1);
    expect(seconds).toBeLessThan(28);
    expect(plan.stdout + plan.stderr).toMatch(/prod: cannot connect over ssh: .*(banner exchange|timed out)/i);
    // wait for prod's sshd to come back before the next test uses it
    await new Promise((r) => setTimeout(r, Math.max(0, 36_000 - (Date.now() - t0))));
    await execa("true");
    expect(await sh("prod", "echo back")).toContain("back");
  });
});
