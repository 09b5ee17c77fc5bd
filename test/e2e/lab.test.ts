/** The lab itself: real OpenZFS over ssh, and WireGuard between two vm hosts. */
import { describe, it, expect, beforeAll } from "vitest";
import { labDisks, resetHosts, sh } from "./helpers.js";
import { readLab } from "../lab/hosts.js";

describe("vm-tier lab hosts", () => {
  beforeAll(resetHosts);

  it("run OpenZFS 2.3 with its kernel module and answer on pinned host keys", async () => {
    const v = await sh("prod", "zfs version");
    expect(v).toMatch(/^zfs-2\.3\./m);
    expect(v).toMatch(/^zfs-kmod-2\.3\./m);
    const hostKey = (await sh("prod", "cat /etc/ssh/ssh_host_ed25519_key.pub")).split(" ").slice(0, 2).join(" ");
    expect(hostKey).toBe(readLab().hosts.find((h) => h.name === "prod")!.hostKey);
  });

  it("create a pool and a dataset with recordsize=1M compression=zstd over ssh and read them back", async () => {
    const disk = labDisks("prod")[0]!;
    await sh("prod", `zpool create -O mountpoint=/labtest labtest ${disk} && zfs create -o recordsize=1M -o compression=zstd labtest/media`);
    const got = await sh("prod", "zfs get -Hp -o name,property,value,source recordsize,compression labtest/media");
    expect(got).toBe("labtest/media\trecordsize\t1048576\tlocal\nlabtest/media\tcompression\tzstd\tlocal\n");
    await sh("prod", "zpool destroy labtest");
  });

  it("ping each other over in-kernel WireGuard", async () => {
    const lab = readLab();
    const addr = { prod: "10.201.9.1", dr: "10.201.9.2" } as Record<string, string>;
    const pub: Record<string, string> = {};
    // Keys are generated on each host and never leave it; only public keys are read.
    for (const h of ["prod", "dr"]) {
      pub[h] = (await sh(h, `ip link del wgtest 2>/dev/null; umask 077; wg genkey > /root/wgtest.key; wg pubkey < /root/wgtest.key`)).trim();
      await sh(h, `ip link add wgtest type wireguard && wg set wgtest private-key /root/wgtest.key listen-port 51999 && ip addr add ${addr[h]}/24 dev wgtest && ip link set wgtest up`);
    }
    for (const [h, other] of [["prod", "dr"], ["dr", "prod"]] as const) {
      const endpoint = lab.hosts.find((x) => x.name === other)!.labAddress;
      await sh(h, `wg set wgtest peer ${pub[other]} allowed-ips ${addr[other]}/32 endpoint ${endpoint}:51999`);
    }
    const ping = await sh("prod", `ping -c 3 -W 5 ${addr.dr}`);
    expect(ping).toMatch(/3 received/);
    const kind = await sh("prod", "cat /sys/module/wireguard/version 2>/dev/null || echo builtin; ip -d link show wgtest | grep -o wireguard | head -1");
    expect(kind).toContain("wireguard");
    const handshake = await sh("prod", "wg show wgtest latest-handshakes");
    expect(Number(handshake.trim().split("\t")[1])).toBeGreaterThan(Date.now() / 1000 - 120);
    for (const h of ["prod", "dr"]) await sh(h, "ip link del wgtest; rm -f /root/wgtest.key");
  });
});
