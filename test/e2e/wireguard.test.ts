/** WireGuard on vm-tier hosts: a 3-host mesh from one construct, drift, rotation, and no secret anywhere. */
import { describe, it, expect, beforeAll } from "vitest";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { backplane, project, rebootAndWait, sh } from "./helpers.js";
import { readLab } from "../lab/hosts.js";

const HOSTS = ["prod", "dr", "h3"];
let dir: string;
const artifacts: string[] = [];
const audit = join("/tmp", `backplane-audit-${process.pid}.log`);
const env = { BACKPLANE_AUDIT_ARGV: audit };

async function meshStack(rotate = "") {
  return project("mesh", `
    const hosts = ${JSON.stringify(HOSTS)}.map((n) => new Host(stack, n, hostProps(need(inv, n))));
    new bp.WireGuardMesh(stack, "mesh", { hosts, cidr: "10.201.0.0/24", listenPort: 51820, persistentKeepalive: 5, presharedKeys: true${rotate ? `, rotate: { dr: ${JSON.stringify(rotate)} }` : ""} });
  `, rotate === "");
}

async function meshAddresses(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of HOSTS) out[h] = (await sh(h, "ip -o -4 addr show dev wg0 | awk '{print $4}' | cut -d/ -f1")).trim();
  return out;
}

/** Every private and preshared key the lab holds now, remembered for the secrets test. */
const secrets = new Set<string>();
async function rememberSecrets() {
  for (const h of HOSTS) {
    secrets.add((await sh(h, "cat /etc/wireguard/wg0.key")).trim());
    for (const line of (await sh(h, "wg show wg0 preshared-keys")).trim().split("\n")) secrets.add(line.split("\t")[1]!);
  }
}

/** Both ends of every pair hold the same preshared key, and no temporary key file is left. */
async function expectPairedPresharedKeys() {
  const pub: Record<string, string> = {};
  const psk: Record<string, Map<string, string>> = {};
  for (const h of HOSTS) {
    pub[h] = (await sh(h, "wg show wg0 public-key")).trim();
    psk[h] = new Map((await sh(h, "wg show wg0 preshared-keys")).trim().split("\n").map((l) => l.split("\t") as [string, string]));
    expect(await sh(h, "ls -A /etc/wireguard")).not.toMatch(/psk/);
  }
  for (const a of HOSTS) {
    for (const b of HOSTS) {
      if (a === b) continue;
      const k = psk[a]!.get(pub[b]!);
      expect(k, `${a} has a preshared key for ${b}`).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(psk[b]!.get(pub[a]!), `${a} and ${b} hold the same preshared key`).toBe(k);
    }
  }
}

/** The mesh after an apply: pairs agree, every host reaches every other, nothing left to do. */
async function expectConverged() {
  await expectPairedPresharedKeys();
  await rememberSecrets();
  await pingAll();
  const again = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"], env);
  expect(again.exitCode, again.stdout).toBe(0);
}

async function pingAll() {
  const addr = await meshAddresses();
  for (const a of HOSTS) {
    for (const b of HOSTS) {
      if (a === b) continue;
      expect(await sh(a, `ping -c 2 -W 5 ${addr[b]} >/dev/null && echo ok`), `${a} -> ${b}`).toBe("ok\n");
    }
  }
}

describe("a WireGuard mesh of three vm-tier hosts", () => {
  beforeAll(async () => {
    expect(readLab().hosts.map((h) => h.name)).toEqual(expect.arrayContaining(HOSTS));
    for (const h of HOSTS) await sh(h, "ip link del wg0 2>/dev/null; rm -f /etc/wireguard/wg0.*; systemctl disable wg-quick@wg0 2>/dev/null; true");
    await rm(audit, { force: true });
    dir = await meshStack();
  });

  it("comes up from nothing in one apply: every host pings every other, handshakes are recent", async () => {
    const plan = await backplane(dir, ["plan"], env);
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/public_key\s+= "\(known after apply\)"/);
    expect(plan.stdout).toContain("Plan: 9 to add, 0 to change, 0 to destroy.");
    artifacts.push(plan.stdout, (await backplane(dir, ["plan", "--json", "--no-synth"], env)).stdout, (await backplane(dir, ["plan", "--format", "markdown", "--no-synth"], env)).stdout);
    const t0 = Date.now();
    const a = await backplane(dir, ["apply", "--auto-approve", "--no-synth"], env);
    console.log(`mesh: 3 hosts from nothing in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${a.stdout.split("\n").find((l) => l.startsWith("Apply complete"))}`);
    artifacts.push(a.stdout, a.stderr);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    await pingAll();
    for (const h of HOSTS) {
      const hs = (await sh(h, "wg show wg0 latest-handshakes")).trim().split("\n");
      expect(hs).toHaveLength(2);
      for (const line of hs) expect(Number(line.split("\t")[1])).toBeGreaterThan(Date.now() / 1000 - 180);
      expect(await sh(h, "stat -c %a /etc/wireguard/wg0.key")).toBe("600\n");
      expect(await sh(h, "stat -c %a /etc/wireguard/wg0.conf")).toBe("600\n");
    }
    await expectPairedPresharedKeys();
    await rememberSecrets();
    const again = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"], env);
    artifacts.push(again.stdout);
    expect(again.stdout).toContain("No changes.");
    expect(again.exitCode).toBe(0);
  });

  it("reports a peer added by hand as drift, and apply removes it", async () => {
    const stranger = (await sh("prod", "wg genkey | wg pubkey")).trim();
    await sh("prod", `wg set wg0 peer ${stranger} allowed-ips 10.201.0.250/32`);
    const d = await backplane(dir, ["drift", "--no-synth"], env);
    artifacts.push(d.stdout);
    expect(d.exitCode).toBe(2);
    expect(d.stdout).toContain(stranger);
    // Traffic to the other peers keeps flowing while prod's peers change: no interface teardown.
    const addr = await meshAddresses();
    await sh("prod", `nohup ping -c 60 -i 0.2 -W 2 ${addr.dr} > /tmp/bp-ping.log 2>&1 &`);
    const a = await backplane(dir, ["apply", "--auto-approve", "--no-synth"], env);
    artifacts.push(a.stdout);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    expect(await sh("prod", "wg show wg0 peers")).not.toContain(stranger);
    await sh("prod", "while pgrep -x ping >/dev/null; do sleep 1; done");
    expect(await sh("prod", "cat /tmp/bp-ping.log")).toMatch(/60 packets transmitted, 60 received, 0% packet loss/);
    await pingAll();
  });

  it("reports a preshared key removed by hand on one end as drift, and apply hands a new one over", async () => {
    const drKey = (await sh("dr", "wg show wg0 public-key")).trim();
    await sh("prod", `wg set wg0 peer ${drKey} preshared-key /dev/null`);
    const d = await backplane(dir, ["drift", "--no-synth"], env);
    artifacts.push(d.stdout);
    expect(d.exitCode).toBe(2);
    expect(d.stdout).toContain("preshared_key");
    const a = await backplane(dir, ["apply", "--auto-approve", "--no-synth"], env);
    artifacts.push(a.stdout, a.stderr);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    expect(a.stdout).toMatch(/Sharing preshared key complete/);
    await expectPairedPresharedKeys();
    await rememberSecrets();
    await pingAll();
    // a different key set by hand on one end: both ends hold one, and the plan still sees it
    await sh("prod", `umask 077; wg genpsk > /tmp/other.psk && wg set wg0 peer ${drKey} preshared-key /tmp/other.psk && rm /tmp/other.psk`);
    await rememberSecrets();
    const d2 = await backplane(dir, ["drift", "--no-synth"], env);
    artifacts.push(d2.stdout);
    expect(d2.exitCode).toBe(2);
    expect(d2.stdout).toMatch(/differs from (prod|dr)'s/);
    const a2 = await backplane(dir, ["apply", "--auto-approve", "--no-synth"], env);
    artifacts.push(a2.stdout, a2.stderr);
    expect(a2.exitCode, a2.stdout + a2.stderr).toBe(0);
    await expectConverged();
  });

  it("rotates one host's key and converges the mesh in one apply", async () => {
    const before = (await sh("dr", "wg show wg0 public-key")).trim();
    dir = await meshStack("2026-11-25");
    const p = await backplane(dir, ["plan"], env);
    artifacts.push(p.stdout);
    expect(p.stdout).toMatch(/peer \(known after apply\)/);
    const a = await backplane(dir, ["apply", "--auto-approve", "--no-synth"], env);
    artifacts.push(a.stdout, a.stderr);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    const after = (await sh("dr", "wg show wg0 public-key")).trim();
    expect(after).not.toBe(before);
    for (const h of ["prod", "h3"]) {
      const peers = await sh(h, "wg show wg0 peers");
      expect(peers).toContain(after);
      expect(peers).not.toContain(before);
    }
    await expectConverged();
  });

  it("replaces one interface with Terraform's -replace=ADDR: a new key, its peers and pairs follow in one apply", async () => {
    const before = (await sh("h3", "wg show wg0 public-key")).trim();
    const list = await backplane(dir, ["state", "list", "--no-synth"], env);
    const address = list.stdout.split("\n").map((l) => l.split("\t")).find(([a, host]) => a!.startsWith("backplane_wireguard_interface.") && host === "h3")![0]!;
    const p = await backplane(dir, ["plan", `-replace=${address}`, "--json", "--no-synth"], env);
    artifacts.push(p.stdout);
    const change = JSON.parse(p.stdout).changes.find((c: { address: string }) => c.address === address);
    expect(change.reason).toBe("replacement requested (--replace): a new key");
    expect(change.attributes).toEqual([expect.objectContaining({ name: "public_key", before: before, after: "(known after apply)" })]);
    const a = await backplane(dir, ["apply", `-replace=${address}`, "--auto-approve", "--no-synth"], env);
    artifacts.push(a.stdout, a.stderr);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    const after = (await sh("h3", "wg show wg0 public-key")).trim();
    expect(after).not.toBe(before);
    for (const h of ["prod", "dr"]) expect(await sh(h, "wg show wg0 peers")).toContain(after);
    await expectConverged();
  });

  it("refuses an interface that lost its marker, changing nothing, and adopts it again by state rm and import", async () => {
    const key = (await sh("dr", "wg show wg0 public-key")).trim();
    const peers = (await sh("dr", "wg show wg0 peers")).trim();
    const lineage = (await sh("dr", "cat /etc/wireguard/wg0.backplane")).trim();
    await sh("dr", "rm /etc/wireguard/wg0.backplane");
    const state = JSON.parse(await readFile(join(dir, "terraform.tfstate"), "utf8")) as { resources: Record<string, { type: string; host: string }> };
    const address = Object.entries(state.resources).find(([, r]) => r.type === "backplane_wireguard_interface" && r.host === "dr")![0];
    const refused = await backplane(dir, ["apply", "--auto-approve", "--no-synth"], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout + refused.stderr).toContain("WireGuard interface wg0 on dr is recorded in state but carries no ownership marker (/etc/wireguard/wg0.backplane): backplane does not change it.");
    expect(refused.stdout + refused.stderr).toContain(`then backplane import ${address} wg0`);
    // nothing ran: the key and peers are as they were, and no marker was written
    expect((await sh("dr", "wg show wg0 public-key")).trim()).toBe(key);
    expect((await sh("dr", "wg show wg0 peers")).trim()).toBe(peers);
    expect(await sh("dr", "test -e /etc/wireguard/wg0.backplane && echo marked || echo unmarked")).toBe("unmarked\n");
    expect((await backplane(dir, ["state", "rm", address, "--no-synth"], env)).exitCode).toBe(0);
    const imported = await backplane(dir, ["import", address, "wg0", "--no-synth"], env);
    expect(imported.exitCode, imported.stdout + imported.stderr).toBe(0);
    expect(await sh("dr", "cat /etc/wireguard/wg0.backplane")).toBe(`${lineage}\n`);
    expect(await sh("dr", "stat -c %a /etc/wireguard/wg0.backplane")).toBe("600\n");
    expect((await sh("dr", "wg show wg0 public-key")).trim()).toBe(key);
    await expectConverged();
  });

  it("keeps the interface, key and peers across a reboot of the host", async () => {
    const key = (await sh("h3", "wg show wg0 public-key")).trim();
    await sh("h3", "systemctl is-enabled wg-quick@wg0");
    await rebootAndWait("h3");
    expect((await sh("h3", "wg show wg0 public-key")).trim()).toBe(key);
    expect((await sh("h3", "wg show wg0 peers")).trim().split("\n")).toHaveLength(2);
    await pingAll();
    const again = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"], env);
    expect(again.exitCode, again.stdout).toBe(0);
  });

  it("never lets a private or preshared key reach state, plans, logs or any command's argv", async () => {
    await rememberSecrets();
    // a saved plan file holds what was read from the hosts (WireGuard included): never a key
    const planFile = join(dir, "secrets.plan");
    expect((await backplane(dir, ["plan", `-out=${planFile}`, "--no-synth"], env)).exitCode).toBe(0);
    artifacts.push(await readFile(planFile, "utf8"));
    const keys = [...secrets];
    // 3 private keys + 3 pairs, each stage adding what it generated (rotation: 1 private, 2 pairs)
    expect(keys.length).toBeGreaterThanOrEqual(3 + 3 + 1 + 2);
    expect(keys.every((k) => k.length === 44)).toBe(true);
    const state = await readFile(join(dir, "terraform.tfstate"), "utf8");
    const argvLog = await readFile(audit, "utf8");
    expect(argvLog.length).toBeGreaterThan(0);
    // and no shell history on the hosts holds one (backplane's commands run non-interactively)
    const histories = await Promise.all(["prod", "dr", "h3"].map((h) => sh(h, "cat /root/.bash_history /root/.sh_history /root/.ash_history 2>/dev/null; true")));
    for (const k of keys) {
      expect(state).not.toContain(k);
      expect(argvLog).not.toContain(k);
      for (const text of [...artifacts, ...histories]) expect(text).not.toContain(k);
    }
  });

  it("keeps what it writes on the hosts private: /etc/wireguard is root's with mode 700, each file in it 600", async () => {
    for (const h of ["prod", "dr", "h3"]) {
      expect(await sh(h, "stat -c '%U %a' /etc/wireguard")).toBe("root 700\n");
      const files = (await sh(h, "find /etc/wireguard -type f -exec stat -c '%n %U %a' {} +")).trim().split("\n");
      expect(files).toContainEqual("/etc/wireguard/wg0.conf root 600");
      for (const f of files) expect(f, h).toMatch(/ root 600$/);
    }
  });
});
