/** Import, capability checks and the one-round-trip refresh, on real vm-tier hosts. */
import { describe, it, expect, beforeAll } from "vitest";
import { backplane, project, resetHosts, sh, transport } from "./helpers.js";
import { refreshHost } from "../../provider/engine/live.js";

describe("import", () => {
  beforeAll(resetHosts);

  it("adopts a hand-made dataset with all its attributes: the next plan shows no change", async () => {
    await sh("prod", `zpool create -O mountpoint=/media media ${(await import("../lab/hosts.js")).labHost("prod").disks[0]} && zfs create -o recordsize=1M -o compression=zstd -o atime=off -o com.example:owner=video media/library`);
    const dir = await project("import", `
      const prod = new Host(stack, "prod", hostProps(prodInv));
      const pool = prod.pool("media", { name: "media", adopt: true });
      prod.dataset("library", { name: "media/library", properties: { recordsize: "1M", compression: "zstd", atime: "off" }, userProperties: { "com.example:owner": "video" }, dependsOn: [pool] });
    `);
    const before = await backplane(dir, ["plan"]);
    expect(before.exitCode).toBe(1);
    expect(before.stdout).toContain("media/library already exists on prod and is not managed by backplane; adopt it with: backplane import");
    const address = /backplane import (backplane_dataset\.\S+) media\/library/.exec(before.stdout)![1]!;
    const imp = await backplane(dir, ["import", address, "media/library", "--no-synth"]);
    expect(imp.exitCode, imp.stderr).toBe(0);
    const after = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(after.stdout).toContain("No changes.");
    expect(after.exitCode).toBe(0);
    const state = await backplane(dir, ["state", "show", address, "--no-synth"]);
    expect(JSON.parse(state.stdout).attributes.properties).toMatchObject({ recordsize: "1048576", compression: "zstd", atime: "off" });
  });
});

describe("capability checks", () => {
  beforeAll(resetHosts);

  it("refuse zstd on a pool without the zstd_compress feature at plan, before any command runs", async () => {
    // A pool created with every feature disabled stands for an old host's pool.
    const disk = (await import("../lab/hosts.js")).labHost("dr").disks[0];
    await sh("dr", `zpool create -d -O mountpoint=/old old ${disk}`);
    const dir = await project("capability", `
      const dr = new Host(stack, "dr", hostProps(drInv));
      const pool = dr.pool("old", { name: "old", adopt: true });
      dr.dataset("logs", { name: "old/logs", profile: "logs", dependsOn: [pool] });
    `);
    const before = await sh("dr", "zfs list -H -o name -r old");
    const p = await backplane(dir, ["apply", "--auto-approve"]);
    expect(p.exitCode).toBe(1);
    expect(p.stdout).toContain("compression=zstd-19 cannot be set on dr (old/logs): compression=zstd-19 needs OpenZFS 2.0 and the zstd_compress pool feature; pool old does not have feature zstd_compress enabled");
    expect(p.stdout).toContain("recordsize=1M cannot be set on dr (old/logs)");
    expect(await sh("dr", "zfs list -H -o name -r old")).toBe(before);
  });
});

describe("host facts (backplane_host)", () => {
  beforeAll(resetHosts);

  it("carries the host's own facts into a resource, and refuses a host below the required version before any command runs", async () => {
    const disk = (await import("../lab/hosts.js")).labHost("prod").disks[0];
    const dir = await project("facts", `
      const prod = new Host(stack, "prod", hostProps(prodInv));
      const facts = prod.facts({ minZfsVersion: process.env.MIN_ZFS ?? "2.3", requireWireguard: true });
      const pool = prod.pool("tank", { name: "tank", vdevs: [${JSON.stringify(disk)}] });
      prod.dataset("x", { name: "tank/x", userProperties: { "com.example:built-on": facts.kernel, "com.example:zfs": facts.zfsVersion }, dependsOn: [pool] });
    `);
    const a = await backplane(dir, ["apply", "--auto-approve"]);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    const got = (await sh("prod", "zfs get -H -o value com.example:built-on,com.example:zfs tank/x")).trim().split("\n");
    expect(got[0]).toBe((await sh("prod", "uname -r")).trim());
    expect(got[1]).toMatch(/^2\.3\.\d+$/);
    expect((await sh("prod", "zfs version | head -1")).startsWith(`zfs-${got[1]}-`)).toBe(true);
    const again = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(again.exitCode, again.stdout).toBe(0);
    // the same stack asking for a newer OpenZFS: refused at plan, nothing touched
    const refused = await backplane(dir, ["apply", "--auto-approve"], { MIN_ZFS: "2.9" });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(/prod must run OpenZFS 2\.9 or newer; it runs OpenZFS 2\.3\.\d+/);
  });
});

describe("refresh", () => {
  beforeAll(resetHosts);

  it("reads a host with 200 datasets in one SSH round trip", async () => {
    const disk = (await import("../lab/hosts.js")).labHost("dr").disks[0];
    await sh("dr", `zpool create -O mountpoint=/many many ${disk} && for i in $(seq 1 200); do echo "many/ds$i"; done | xargs -n 50 sh -c 'for d; do zfs create "$d"; done' _`);
    const t = transport("dr");
    const before = t.roundTrips;
    const live = await refreshHost(t, []);
    expect(t.roundTrips - before).toBe(1);
    expect([...live.datasets.keys()].filter((n) => n.startsWith("many/ds"))).toHaveLength(200);
    expect(live.zfs.userland).toMatch(/^2\.3\./);
    expect(live.pools.get("many")!.features.has("zstd_compress")).toBe(true);
  });
});
