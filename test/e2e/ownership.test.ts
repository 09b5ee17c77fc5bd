/**
 * Ownership, removal order and bound saved plans on real vm-tier hosts: backplane never
 * destroys what it does not own, removes in dependency order, keeps removed data aside in one
 * move, and applies a saved plan only to what it was made from.
 */
import { describe, it, expect, beforeAll, beforeEach } from "vitest";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { backplane, labDisks, project, resetHosts, sh } from "./helpers.js";

const stack = (body: string) => `
  const prod = new Host(stack, "prod", hostProps(prodInv));
  const pool = prod.pool("tank", { name: "tank", vdevs: [${JSON.stringify(labDisks("prod")[0])}] });
  ${body}
`;

describe("ownership on the host", () => {
  beforeEach(resetHosts);

  it("refuses a snapshot that exists but was not made by backplane, and never destroys it", async () => {
    const dir = await project("own-snap", stack(`
      const data = prod.dataset("data", { name: "tank/data", dependsOn: [pool] });
    `));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await sh("prod", "zfs snapshot tank/data@monday");
    await project("own-snap", stack(`
      const data = prod.dataset("data", { name: "tank/data", dependsOn: [pool] });
      prod.snapshot("monday", { dataset: data, name: "monday" });
    `), false);
    const p = await backplane(dir, ["apply", "--auto-approve", "--allow-destroy"]);
    expect(p.exitCode).toBe(1);
    expect(p.stdout).toMatch(/tank\/data@monday already exists on prod and is not managed by backplane; adopt it with: backplane import backplane_snapshot\.\S+ tank\/data@monday/);
    // removed from the code again: nothing recorded, so nothing to destroy
    await project("own-snap", stack(`prod.dataset("data", { name: "tank/data", dependsOn: [pool] });`), false);
    expect((await backplane(dir, ["apply", "--auto-approve", "--allow-destroy"])).exitCode).toBe(0);
    expect(await sh("prod", "zfs list -H -t snapshot -o name tank/data")).toBe("tank/data@monday\n");
  });

  it("removes a clone and its origin snapshot together, the clone first, and records GUIDs at creation", async () => {
    const body = `
      const data = prod.dataset("data", { name: "tank/data", dependsOn: [pool] });
      const snap = prod.snapshot("s1", { dataset: data, name: "s1" });
      prod.clone("staging", { name: "tank/staging", origin: snap });
    `;
    const dir = await project("clone-order", stack(body));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    const state = JSON.parse(await readFile(join(dir, "terraform.tfstate"), "utf8"));
    const guids = Object.fromEntries(Object.values(state.resources as Record<string, { id: string; attributes: { guid?: string } }>).map((r) => [r.id, r.attributes.guid]));
    expect(guids["tank/data@s1"]).toBe((await sh("prod", "zfs get -Hp -o value guid tank/data@s1")).trim());
    expect(guids["tank/staging"]).toBe((await sh("prod", "zfs get -Hp -o value guid tank/staging")).trim());
    await project("clone-order", stack(`prod.dataset("data", { name: "tank/data", dependsOn: [pool] });`), false);
    const a = await backplane(dir, ["apply", "--auto-approve", "--allow-destroy"]);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    expect(a.stdout.indexOf("tank/staging (prod): Destruction complete")).toBeLessThan(a.stdout.indexOf("tank/data@s1 (prod): Destruction complete"));
    expect(await sh("prod", "zfs list -H -t all -o name -r tank")).toBe("tank\ntank/data\n");
  });

  it("refuses to destroy a clone that has a child backplane did not make", async () => {
    const body = `
      const data = prod.dataset("data", { name: "tank/data", dependsOn: [pool] });
      const snap = prod.snapshot("s1", { dataset: data, name: "s1" });
      prod.clone("preview", { name: "tank/preview", origin: snap });
    `;
    const dir = await project("clone-child", stack(body));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await sh("prod", "zfs create tank/preview/notes");
    await project("clone-child", stack(`
      const data = prod.dataset("data", { name: "tank/data", dependsOn: [pool] });
      prod.snapshot("s1", { dataset: data, name: "s1" });
    `), false);
    const a = await backplane(dir, ["apply", "--auto-approve", "--allow-destroy"]);
    expect(a.exitCode).toBe(1);
    expect(a.stdout).toContain("tank/preview on prod cannot be destroyed: tank/preview/notes lives under it and is not removed by this plan");
    expect(await sh("prod", "zfs list -H -o name tank/preview/notes")).toBe("tank/preview/notes\n");
  });

  it("moves a removed parent and child aside in one move, carrying (and naming) a hand-made child", async () => {
    const dir = await project("subtree", stack(`
      const a = prod.dataset("a", { name: "tank/a", dependsOn: [pool] });
      prod.dataset("b", { name: "tank/a/b", dependsOn: [a] });
    `));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await sh("prod", "zfs create tank/a/handmade && echo kept > /tank/a/b/file");
    await project("subtree", stack(""), false);
    const p = await backplane(dir, ["plan"]);
    expect(p.stdout).toMatch(/tank\/a\/handmade/);
    expect(p.stdout).toMatch(/will be kept aside at tank\/backplane-pre-\d+\/a \(not destroyed, carrying along what this stack does not manage: tank\/a\/handmade\)/);
    expect(p.stdout).toMatch(/will be moved aside with tank\/a \(not destroyed\)/);
    const a = await backplane(dir, ["apply", "--auto-approve", "--allow-destroy", "--no-synth"]);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    const aside = (await sh("prod", "zfs list -H -o name -r tank | grep '^tank/backplane-pre-[0-9]*/a/b$'")).trim();
    expect(await sh("prod", `cat $(zfs get -H -o value mountpoint ${aside})/file`)).toBe("kept\n");
    expect(await sh("prod", "zfs list -H -o name -r tank | grep -c handmade")).toBe("1\n");
    const again = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(again.exitCode, again.stdout).toBe(0);
  });

  it("never adopts a hand-made child of a managed dataset (it inherits the marker), even when the code declares it", async () => {
    const dir = await project("handmade-child", stack(`prod.dataset("a", { name: "tank/a", dependsOn: [pool] });`));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await sh("prod", "zfs create tank/a/handmade && echo mine > /tank/a/handmade/file");
    // on the host the child carries this stack's lineage, inherited
    expect(await sh("prod", "zfs get -H -o source backplane:managed tank/a/handmade")).toBe("inherited from tank/a\n");
    await project("handmade-child", stack(`
      const a = prod.dataset("a", { name: "tank/a", dependsOn: [pool] });
      prod.dataset("hm", { name: "tank/a/handmade", properties: { compression: "off" }, dependsOn: [a] });
    `), false);
    const r = await backplane(dir, ["apply", "--auto-approve", "--allow-destroy"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("tank/a/handmade already exists on prod and is not managed by backplane; adopt it with: backplane import");
    // untouched: not recorded, no marker of its own, the property not set, the data there
    const state = JSON.parse(await readFile(join(dir, "terraform.tfstate"), "utf8"));
    expect(Object.values(state.resources as Record<string, { id: string }>).map((x) => x.id)).not.toContain("tank/a/handmade");
    expect(await sh("prod", "zfs get -H -o value,source backplane:managed,compression tank/a/handmade")).toMatch(/^\S+\tinherited from tank\/a\n\S+\t(default|inherited from tank)\n$/);
    expect(await sh("prod", "cat /tank/a/handmade/file")).toBe("mine\n");
  });

  it("inherits a user property removed from the code", async () => {
    const dir = await project("userprop", stack(`prod.dataset("d", { name: "tank/d", userProperties: { "com.example:team": "media" }, dependsOn: [pool] });`));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await project("userprop", stack(`prod.dataset("d", { name: "tank/d", dependsOn: [pool] });`), false);
    const p = await backplane(dir, ["apply", "--auto-approve"]);
    expect(p.exitCode, p.stdout + p.stderr).toBe(0);
    expect(p.stdout).toContain("com.example:team");
    expect(await sh("prod", "zfs get -H -s local -o value com.example:team tank/d")).toBe("");
    expect((await backplane(dir, ["drift", "--no-synth"])).exitCode).toBe(0);
  });

  it("refuses to import another stack's object unless forced, and says so when forced", async () => {
    const dir = await project("takeover", stack(""));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await sh("prod", "zfs create -o backplane:managed=00000000-0000-4000-8000-0000000000bb tank/x");
    await project("takeover", stack(`prod.dataset("x", { name: "tank/x", dependsOn: [pool] });`), false);
    expect((await backplane(dir, ["synth"])).exitCode).toBe(0);
    const address = (await backplane(dir, ["graph", "--no-synth"])).stdout.match(/backplane_dataset\.\S+/)![0];
    const refused = await backplane(dir, ["import", address, "tank/x", "--no-synth"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("tank/x on prod belongs to another stack (backplane:managed=00000000-0000-4000-8000-0000000000bb)");
    expect(await sh("prod", "zfs get -H -o value backplane:managed tank/x")).toBe("00000000-0000-4000-8000-0000000000bb\n");
    const forced = await backplane(dir, ["import", address, "tank/x", "--no-synth", "--force-takeover"]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain("Taking tank/x over from the stack with lineage 00000000-0000-4000-8000-0000000000bb (--force-takeover)");
  });
});

describe("saved plans are bound to what they were made from", () => {
  beforeAll(resetHosts);

  it("refuses a plan made for another stack, and a plan file whose commands were edited", async () => {
    const body = stack(`prod.dataset("d", { name: "tank/d", properties: { atime: "off" }, dependsOn: [pool] });`);
    const a = await project("bound-a", body);
    const b = await project("bound-b", body);
    const planFile = join(a, "a.plan");
    expect((await backplane(a, ["plan", `-out=${planFile}`])).exitCode).toBe(0);
    expect((await backplane(b, ["synth"])).exitCode).toBe(0);
    const other = await backplane(b, ["apply", planFile, "--no-synth"]);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain("it was made for stack 'bound-a', not 'bound-b'");
    const text = await readFile(planFile, "utf8");
    await writeFile(planFile, text.replace("atime=off", "atime=on"));
    const edited = await backplane(a, ["apply", planFile]);
    expect(edited.exitCode).toBe(1);
    expect(edited.stderr).toContain("the plan file's change differs from what the planner makes from the same inputs");
    expect(await sh("prod", "zpool list -H -o name")).toBe("");
  });
});
