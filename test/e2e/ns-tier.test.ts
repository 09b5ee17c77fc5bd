/**
 * The ns tier: many cheap hosts (network namespaces with their own sshd and zfs-fuse), and a
 * deliberately old ZFS that capability checks must recognise before any command runs.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { execa } from "execa";
import { nsUp } from "../lab/ns.js";
import { labDown } from "../lab/vm.js";
import { LAB_DIR, type LabDescription } from "../lab/hosts.js";
import { backplane, project, hostConfig, ROOT } from "./helpers.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { refreshHost } from "../../provider/engine/live.js";

const dir = `${LAB_DIR}-ns`;
let lab: LabDescription;
let startSeconds = 0;

describe("ns-tier hosts", () => {
  beforeAll(async () => {
    await execa("bash", [join(ROOT, "test", "lab", "install-deps.sh"), "--ns"], { stdio: "inherit" });
    const t0 = Date.now();
    lab = await nsUp({ hosts: 10, dir, log: (l) => console.log(l) });
    startSeconds = (Date.now() - t0) / 1000;
    console.log(`ns tier: 10 hosts answered on ssh after ${startSeconds.toFixed(1)} s`);
  });
  afterAll(() => labDown((l) => console.log(l), dir));

  it("start 10 hosts, each read in one round trip and recognised as zfs-fuse", async () => {
    expect(lab.hosts).toHaveLength(10);
    const lives = await Promise.all(lab.hosts.map(async (h) => {
      const t = new SshTransport(hostConfig(h));
      const live = await refreshHost(t, []);
      expect(t.roundTrips).toBe(1);
      await t.close();
      return live;
    }));
    for (const l of lives) {
      expect(l.legacy).toBe(true);
      expect(l.zfs.userland).toBeNull();
    }
  });

  it("refuse zstd, 1M records and sync=disabled on an old host at plan, naming host, dataset and why, before any command runs", async () => {
    const p = await project("ns-capability", `
      const old = new Host(stack, "prod", hostProps(need(inv, "prod")));
      const pool = old.pool("tank", { name: "tank", vdevs: [need(inv, "prod").disks[0]] });
      old.dataset("logs", { name: "tank/logs", profile: "logs", dependsOn: [pool] });
      old.dataset("ci", { name: "tank/ci", profile: "ciWorkspace", dependsOn: [pool] });
    `);
    const env = { BACKPLANE_INVENTORY: join(dir, "hosts.json") };
    const r = await backplane(p, ["apply", "--auto-approve"], env);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("compression=zstd-19 cannot be set on prod (tank/logs): compression=zstd-19 needs OpenZFS 2.0 and the zstd_compress pool feature; host runs a non-OpenZFS ZFS (unrecognized command 'version')");
    expect(r.stdout).toContain("recordsize=1M cannot be set on prod (tank/logs)");
    expect(r.stdout).toContain("sync=disabled cannot be set on prod (tank/ci)");
    // Nothing ran: the pool the plan would create does not exist.
    const t = new SshTransport(hostConfig(lab.hosts[0]!));
    const live = await refreshHost(t, []);
    await t.close();
    expect(live.pools.size).toBe(0);
  });

  it("build a WireGuard mesh over wireguard-go where the kernel has no WireGuard, reported in the host facts", async () => {
    const names = ["h4", "h5", "h6"];
    const p = await project("ns-mesh", `
      const hosts = ${JSON.stringify(names)}.map((n) => new Host(stack, n, hostProps(need(inv, n))));
      new bp.WireGuardMesh(stack, "mesh", { hosts, cidr: "10.202.0.0/24", listenPort: 51820, persistentKeepalive: 5, presharedKeys: true });
    `);
    const env = { BACKPLANE_INVENTORY: join(dir, "hosts.json") };
    const facts = await backplane(p, ["facts", "--json"], env);
    expect(facts.exitCode, facts.stdout + facts.stderr).toBe(0);
    for (const h of names) expect(JSON.parse(facts.stdout)[h].wireguard).toBe("wireguard-go");
    const t0 = Date.now();
    const a = await backplane(p, ["apply", "--auto-approve", "--no-synth"], env);
    console.log(`ns mesh: 3 wireguard-go hosts from nothing in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${a.stdout.split("\n").find((l) => l.startsWith("Apply complete"))}`);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    const ssh = (h: string, cmd: string) => execa("ssh", ["-F", join(dir, "ssh_config"), h, cmd], { timeout: 30_000 });
    const addr: Record<string, string> = {};
    const pub: Record<string, string> = {};
    for (const h of names) {
      addr[h] = (await ssh(h, "ip -o -4 addr show dev wg0 | awk '{print $4}' | cut -d/ -f1")).stdout.trim();
      pub[h] = (await ssh(h, "wg show wg0 public-key")).stdout.trim();
    }
    for (const a1 of names) {
      // the daemon answering is wireguard-go's UAPI socket, not a kernel device
      expect((await ssh(a1, "test -S /run/wireguard/wg0.sock && echo uapi")).stdout).toBe("uapi");
      // preshared keys handed over between wireguard-go hosts too: one per peer, both ends equal
      const psk = (await ssh(a1, "wg show wg0 preshared-keys")).stdout.trim().split("\n").map((l) => l.split("\t"));
      expect(psk).toHaveLength(2);
      for (const [peerKey, key] of psk) {
        const b = names.find((n) => pub[n] === peerKey)!;
        expect((await ssh(b, `wg show wg0 preshared-keys | awk -v k=${pub[a1]} '$1 == k { print $2 }'`)).stdout, `${a1} <-> ${b}`).toBe(key);
      }
      for (const b of names) if (a1 !== b) expect((await ssh(a1, `ping -c 2 -W 5 ${addr[b]} >/dev/null && echo ok`)).stdout, `${a1} -> ${b}`).toBe("ok");
    }
    const again = await backplane(p, ["plan", "--detailed-exitcode", "--no-synth"], env);
    expect(again.stdout).toContain("No changes.");
    expect(again.exitCode).toBe(0);
  });

  it("apply what an old host can do: a pool and a gzip dataset with a quota on zfs-fuse", async () => {
    const p = await project("ns-apply", `
      const old = new Host(stack, "dr", hostProps(need(inv, "dr")));
      const pool = old.pool("tank", { name: "tank", vdevs: [need(inv, "dr").disks[0]] });
      old.dataset("data", { name: "tank/data", properties: { compression: "gzip", atime: "off", quota: "100M" }, dependsOn: [pool] });
    `);
    const env = { BACKPLANE_INVENTORY: join(dir, "hosts.json") };
    const a = await backplane(p, ["apply", "--auto-approve"], env);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    const again = await backplane(p, ["plan", "--detailed-exitcode", "--no-synth"], env);
    expect(again.stdout).toContain("No changes.");
    expect(again.exitCode).toBe(0);
  });

  it("probes on an old host: pool and space read from zfs-fuse, io_latency unsupported with the exact reason", async () => {
    // the pool and dataset of the case above, watched by a stack that only probes them
    const p = await project("ns-probes", `
      const old = new Host(stack, "dr", hostProps(need(inv, "dr")));
      new bp.Probe(stack, "pool", { host: old, check: "pool_health", target: "tank" });
      new bp.Probe(stack, "space", { host: old, check: "dataset_space", target: "tank/data", maxUsedPercent: 90 });
      new bp.Probe(stack, "io", { host: old, check: "io_latency", target: "tank", sampleSeconds: 1 });
    `);
    const env = { BACKPLANE_INVENTORY: join(dir, "hosts.json") };
    const r = await backplane(p, ["probe", "--json"], env);
    const results = JSON.parse(r.stdout).results as { probe: string; status: string; value: string; reasons: string[] }[];
    console.log(`ns tier probes:\n${results.map((x) => `  ${x.probe}: ${x.status} ${x.value} ${x.reasons.join("; ")}`).join("\n")}`);
    expect(results.find((x) => x.probe === "pool")).toMatchObject({ status: "ok" });
    expect(results.find((x) => x.probe === "space")).toMatchObject({ status: "ok" });
    const io = results.find((x) => x.probe === "io")!;
    expect(io.status).toBe("unsupported");
    expect(io.reasons[0]).toMatch(/^no OpenZFS kernel module \(\/sys\/module\/zfs is absent\)|^bpftrace is not installed/);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
});
