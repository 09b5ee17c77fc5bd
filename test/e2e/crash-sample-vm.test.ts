/**
 * Crash at a sample of step boundaries on the vm tier (OpenZFS 2.3 kernel module, kernel
 * WireGuard): the full matrix runs on the ns tier (crash-at-every-step.test.ts); here the same
 * promise is checked where the real kernel answers — including a WireGuard interface created
 * in a batch whose outcome was never recorded, adopted by its marker file.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { backplane, expectConverges, project, resetHosts, sh } from "./helpers.js";

const STATE = "terraform.tfstate";
const STACK = `
  const hosts = [];
  for (const [name, i] of [["prod", prodInv], ["dr", drInv]] as const) {
    const h = new Host(stack, name, hostProps(i));
    hosts.push(h);
    const pool = h.pool("tank", { name: "tank", vdevs: [i.disks[0]] });
    const app = h.dataset("app", { name: "tank/app", profile: "uploads", dependsOn: [pool] });
    const a = h.dataset("a", { name: "tank/app/a", dependsOn: [app] });
    h.dataset("logs", { name: "tank/logs", profile: "logs", dependsOn: [pool] });
    const snap = h.snapshot("s1", { dataset: a, name: "s1" });
    h.clone("staging", { name: "tank/staging", origin: snap });
  }
  new bp.WireGuardMesh(stack, "mesh", { hosts, cidr: "10.204.0.0/24", listenPort: 51820 });
`;
/**
 * A sample across the kinds of boundary (the ns tier runs them all): the first batch (pools, a
 * new stack), a later batch, a half-done state write in the middle of the apply (state is
 * written once per completed batch: this apply writes about ten times).
 */
const SAMPLE = ["after-batch:1", "after-batch:5", "state-write:5"];

describe("crash at sampled step boundaries (vm tier)", () => {
  let p: string;
  const tally = { tried: 0, converged: 0, lost: 0 };
  beforeAll(async () => {
    p = await project("crash-sample-vm", STACK);
    expect((await backplane(p, ["synth"])).exitCode).toBe(0);
  });

  async function reset() {
    await resetHosts();
    await Promise.all(["prod", "dr"].map((h) => sh(h, "ip link del wg0 2>/dev/null; rm -f /etc/wireguard/wg0.*; systemctl disable wg-quick@wg0 >/dev/null 2>&1; true")));
    for (const f of await readdir(p)) if (f.startsWith(STATE) || f.startsWith(`.${STATE}`)) await rm(join(p, f), { force: true });
    // a pre-existing pool with a file, on each host's second disk: never to be touched
    await Promise.all(["prod", "dr"].map((h) => sh(h, "zpool create -f keep /dev/vdc && head -c 100000 /dev/urandom > /keep/f && sha256sum /keep/f > /root/keep.sum")));
  }

  it.each(SAMPLE)("killed at %s: the next plan adopts what exists, one apply converges, nothing is lost", async (kill) => {
    await reset();
    const killed = await backplane(p, ["apply", "--auto-approve", "--no-synth"], { BACKPLANE_FAULT_INJECT: kill });
    expect(killed.exitCode, `${kill}: not killed\n${killed.stdout}${killed.stderr}`).toBe(-1);
    tally.tried++;
    if (existsSync(join(p, STATE))) expect(() => JSON.parse(readFileSync(join(p, STATE), "utf8"))).not.toThrow();
    await expectConverges(p, {}, kill);
    tally.converged++;
    for (const h of ["prod", "dr"]) {
      const ok = await sh(h, "sha256sum -c /root/keep.sum >/dev/null && echo intact").catch(() => "");
      if (!ok.includes("intact")) tally.lost++;
    }
    expect(tally.lost).toBe(0);
    console.log(`crash sample (vm): ${kill}: converged (${tally.converged}/${tally.tried}, lost ${tally.lost})`);
  });
});
