/**
 * Races on one state (ns tier, its own lab folder): two applies started together — exactly one
 * proceeds, the other is refused naming the holder; a saved plan applied after someone else's
 * apply, or in another stack's project, is refused with the reason.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from "vitest";
import { execa } from "execa";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { nsUp } from "../lab/ns.js";
import { labDown } from "../lab/vm.js";
import { LAB_DIR } from "../lab/hosts.js";
import { backplane, project, resetNsHosts, ROOT } from "./helpers.js";

const dir = `${LAB_DIR}-races`;
const env = () => ({ BACKPLANE_INVENTORY: join(dir, "hosts.json") });
const bodyWith = (datasets: string[]) => `
  const prod = new Host(stack, "prod", hostProps(prodInv));
  const dr = new Host(stack, "dr", hostProps(drInv));
  for (const [h, i] of [[prod, prodInv], [dr, drInv]] as const) {
    // one pool name per host: ns hosts share the root file system (see resetNsHosts)
    const t = (h === prod ? "prod" : "dr") + "tank";
    const pool = h.pool("tank", { name: t, vdevs: [i.disks[0]] });
    for (const d of ${JSON.stringify(datasets)}) h.dataset(d, { name: t + "/" + d, dependsOn: [pool] });
  }
`;

describe("races on one state (ns tier)", () => {
  beforeAll(async () => {
    await execa("bash", [join(ROOT, "test", "lab", "install-deps.sh"), "--ns"], { stdio: "inherit" });
    await nsUp({ hosts: 2, dir, log: (l) => console.log(l) });
  });
  afterAll(() => labDown((l) => console.log(l), dir));

  beforeEach(() => resetNsHosts(dir, ["prod", "dr"]));

  it("two applies at once: exactly one proceeds, the other is refused naming the holder", async () => {
    const p = await project("races-two-applies", bodyWith(["a", "b", "c"]));
    expect((await backplane(p, ["synth"], env())).exitCode).toBe(0);
    const [x, y] = await Promise.all([0, 1].map(() => backplane(p, ["apply", "--auto-approve", "--no-synth"], env())));
    const results = [x!, y!];
    const won = results.filter((r) => r.exitCode === 0);
    const refused = results.filter((r) => r.exitCode !== 0);
    console.log(`races: two applies at once: ${won.length} proceeded, ${refused.length} refused: ${refused.map((r) => r.stderr.trim().split("\n").pop()).join(" | ")}`);
    expect(won).toHaveLength(1);
    expect(won[0]!.stdout).toMatch(/Apply complete! Resources: 8 added/);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.stderr).toMatch(/state is locked by \S+ \(pid \d+ on \S+\) for 'apply' since .*; lock ID [0-9a-f-]{36}/);
    const again = await backplane(p, ["plan", "--detailed-exitcode", "--no-synth"], env());
    expect(again.stdout).toContain("No changes.");
  });

  it("a saved plan applied after someone else's apply, or in another stack's project, is refused with the reason", async () => {
    const p = await project("races-saved-plan", bodyWith(["a"]));
    expect((await backplane(p, ["apply", "--auto-approve"], env())).exitCode).toBe(0);
    // two operators edit the same stack: one saves a plan, the other applies first
    await project("races-saved-plan", bodyWith(["a", "b"]), false);
    const saved = await backplane(p, ["plan", "-out", "review.plan"], env());
    expect(saved.exitCode, saved.stdout + saved.stderr).toBe(0);
    expect((await backplane(p, ["apply", "--auto-approve", "--no-synth"], env())).exitCode).toBe(0);
    const late = await backplane(p, ["apply", "review.plan"], env());
    expect(late.exitCode).toBe(1);
    expect(late.stderr).toMatch(/state serial is \d+, the plan was made at \d+/);

    const other = await project("races-other-stack", bodyWith(["a", "b"]));
    expect((await backplane(other, ["synth"], env())).exitCode).toBe(0);
    const fresh = await backplane(p, ["plan", "-out", "fresh.plan", "--no-synth"], env());
    expect(fresh.exitCode).toBe(0);
    await copyFile(join(p, "fresh.plan"), join(other, "fresh.plan"));
    const wrong = await backplane(other, ["apply", "fresh.plan"], env());
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(/it was made for stack 'races-saved-plan', not 'races-other-stack'/);
  });
});
