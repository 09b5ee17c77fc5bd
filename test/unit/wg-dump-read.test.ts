/**
 * The WireGuard read is a shell script run on the host; here it runs for real under this
 * machine's sh, with a `wg` on PATH that fails the way a broken wg does (it exits non-zero).
 * A failed read must fail the refresh: read as "no interfaces", the plan would propose to
 * create every interface again.
 */
import { describe, it, expect } from "vitest";
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, writeFile, chmod, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wgDump, ipAddr, ipLink } from "../../provider/wg/facts.js";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { splitSections } from "../../provider/engine/batch.js";

async function runWith(wg: string | null) {
  const bin = await mkdtemp(join(tmpdir(), "bp-wg-"));
  if (wg !== null) {
    await writeFile(join(bin, "wg"), wg);
    await chmod(join(bin, "wg"), 0o755);
  }
  // PATH holds only this folder: the fake wg and the tools the script uses, never a real wg
  for (const tool of ["sh", "sha256sum", "cut"]) await symlink((await execa("sh", ["-c", `command -v ${tool}`])).stdout.trim(), join(bin, tool));
  const [file, ...args] = wgDump.command.map((w) => w.text);
  return execa(file!, args, { reject: false, env: { PATH: bin }, extendEnv: false });
}

describe("reading WireGuard on a host", () => {
  it("a wg that fails is a failed read, never an empty one", async () => {
    const r = await runWith("#!/bin/sh\necho 'Unable to access interface: Operation not permitted' >&2\nexit 1\n");
    expect(r.exitCode).not.toBe(0);
  });
  it("a host without wg has no interfaces (exit 0, nothing printed)", async () => {
    const r = await runWith(null);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("");
  });
  it("a wg with no interfaces prints nothing and succeeds", async () => {
    const r = await runWith("#!/bin/sh\nexit 0\n");
    expect(r.exitCode).toBe(0);
    expect(wgDump.parse(String(r.stdout))).toEqual(new Map());
  });
});

describe("reading WireGuard on a host without wg", () => {
  it("fails when the kernel shows WireGuard links that cannot be read (a plan would otherwise create them again)", async () => {
    const bin = await mkdtemp(join(tmpdir(), "bp-wg-"));
    for (const tool of ["sh", "sha256sum", "cut"]) await symlink((await execa("sh", ["-c", `command -v ${tool}`])).stdout.trim(), join(bin, tool));
    // `ip -o link show type wireguard` as a host with a kernel WireGuard interface prints it
    await writeFile(join(bin, "ip"), "#!/bin/sh\necho '5: wg0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/none '\n");
    await chmod(join(bin, "ip"), 0o755);
    const [file, ...args] = wgDump.command.map((w) => w.text);
    const r = await execa(file!, args, { reject: false, env: { PATH: bin }, extendEnv: false });
    expect(r.exitCode).not.toBe(0);
    expect(String(r.stderr)).toContain("wg (wireguard-tools) is missing");
  });
});

describe("the wireguard host read", () => {
  it("refuses repeated or odd marker and conf lines (a file name cannot forge a marker)", async () => {
    const { wgHost } = await import("../../provider/wg/facts.js");
    expect(wgHost.parse("impl kernel\nmarker wg0 abc-1\n").markers.get("wg0")).toBe("abc-1");
    expect(() => wgHost.parse("impl kernel\nmarker wg0 other\nmarker wg0 ours\n")).toThrow(/repeated line/);
    expect(() => wgHost.parse("impl kernel\nmarker zz x\nmarker\n")).toThrow(/unexpected/);
    expect(() => wgHost.parse("impl kernel\nconf a b\n")).toThrow(/unexpected/);
    expect(() => wgHost.parse("impl kernel\nmarker wg0 a b\n")).toThrow(/unexpected/);
  });

  it("the host script lists only files named as an interface can be", async () => {
    // run for real over a folder holding a file whose name carries a forged line
    const { wgHost } = await import("../../provider/wg/facts.js");
    const script = wgHost.command.map((w) => w.text)[2]!;
    const etc = await mkdtemp(join(tmpdir(), "bp-etc-wg-"));
    await writeFile(join(etc, "wg0.backplane"), "OTHER-STACK\n");
    await writeFile(join(etc, "zz \nmarker wg0 OURS\nconf y.backplane"), "x");
    const r = await execa("sh", ["-c", script.replaceAll("/etc/wireguard", etc)]);
    const live = wgHost.parse(String(r.stdout));
    expect(live.markers.get("wg0")).toBe("OTHER-STACK");
    expect(live.markers.size).toBe(1);
  });
});

describe("the dump is redacted on the host and parsed strictly", () => {
  // keys made now by the real wg; the dump laid out as `wg show all dump` prints it (tab-separated)
  const hasWg = (() => { try { return execFileSync("sh", ["-c", "command -v wg"]).length > 0; } catch { return false; } })();
  const wgOut = (args: string[], input?: string) => execFileSync("wg", args, input === undefined ? {} : { input }).toString().trim();
  const keys = hasWg ? (() => {
    const priv = wgOut(["genkey"]);
    const peerPriv = wgOut(["genkey"]);
    return { priv, pub: wgOut(["pubkey"], priv), peer: wgOut(["pubkey"], peerPriv), peer2: wgOut(["pubkey"], wgOut(["genkey"])), psk: wgOut(["genpsk"]) };
  })() : null;
  const dump = () => [
    ["wg0", keys!.priv, keys!.pub, "51820", "off"],
    ["wg0", keys!.peer, keys!.psk, "10.200.0.12:51820", "10.201.0.9/32,10.201.0.2/32", "1795702624", "12468", "108780", "25"],
    ["wg0", keys!.peer2, "(none)", "(none)", "(none)", "0", "0", "0", "off"],
    ["wg1", wgOut(["genkey"]), wgOut(["pubkey"], wgOut(["genkey"])), "51821", "51820"],
  ].map((l) => l.join("\t")).join("\n");

  it("blanks the private key, replaces the preshared key by its fingerprint, and keeps the rest", async () => {
    if (!hasWg) return;
    const r = await runWith(`#!/bin/sh\nprintf '%s\\n' '${dump()}'\n`);
    expect(r.exitCode).toBe(0);
    const out = String(r.stdout);
    expect(out).not.toContain(keys!.priv);
    expect(out).not.toContain(keys!.psk);
    const fp = createHash("sha256").update(`backplane-psk:${keys!.psk}`).digest("hex").slice(0, 16);
    expect(out.split("\n")[0]).toBe(`wg0\t(hidden)\t${keys!.pub}\t51820\toff`);
    expect(out.split("\n")[1]).toBe(`wg0\t${keys!.peer}\tfp:${fp}\t10.200.0.12:51820\t10.201.0.9/32,10.201.0.2/32\t1795702624\t12468\t108780\t25`);
    const live = wgDump.parse(out);
    expect(live.get("wg0")).toMatchObject({ publicKey: keys!.pub, listenPort: 51820, fwmark: 0 });
    expect(live.get("wg1")).toMatchObject({ listenPort: 51821, fwmark: 51820 });
    expect(live.get("wg0")!.peers.get(keys!.peer)).toEqual({ publicKey: keys!.peer, hasPresharedKey: true, presharedKeyFingerprint: fp, endpoint: "10.200.0.12:51820", allowedIps: ["10.201.0.2/32", "10.201.0.9/32"], latestHandshake: 1795702624, rx: 12468n, tx: 108780n, keepalive: 25 });
    expect(live.get("wg0")!.peers.get(keys!.peer2)).toEqual({ publicKey: keys!.peer2, hasPresharedKey: false, presharedKeyFingerprint: null, endpoint: null, allowedIps: [], latestHandshake: 0, rx: 0n, tx: 0n, keepalive: 0 });
  });

  it("refuses, without echoing it, a line that still holds a key; and duplicates, orphans, odd counters and column counts", async () => {
    if (!hasWg) return;
    const out = String((await runWith(`#!/bin/sh\nprintf '%s\\n' '${dump()}'\n`)).stdout).trimEnd().split("\n");
    const unredacted = out[0]!.replace("(hidden)", keys!.priv);
    const e = (() => { try { wgDump.parse(unredacted); return null; } catch (x) { return x as Error; } })();
    expect(e!.message).toBe("wg show all dump: line 1: the private key column was not blanked on the host");
    expect(e!.message).not.toContain(keys!.priv);
    const psk = out[1]!.replace(/fp:[0-9a-f]{16}/, keys!.psk);
    const e2 = (() => { try { wgDump.parse(`${out[0]}\n${psk}`); return null; } catch (x) { return x as Error; } })();
    expect(e2!.message).toBe("wg show all dump: line 2: the preshared key column was not replaced by its fingerprint on the host");
    expect(e2!.message).not.toContain(keys!.psk);
    expect(() => wgDump.parse(`${out[0]}\n${out[0]}`)).toThrow("wg show all dump: line 2: interface wg0 listed twice");
    expect(() => wgDump.parse(out[1]!)).toThrow("wg show all dump: line 1: peer line before its interface wg0");
    for (const [col, bad] of [[5, "x"], [6, "-1"], [7, "1e3"]] as const) {
      const cols = out[1]!.split("\t");
      cols[col] = bad;
      expect(() => wgDump.parse(`${out[0]}\n${cols.join("\t")}`)).toThrow("wg show all dump: line 2: handshake/rx/tx are not numbers");
    }
    expect(() => wgDump.parse(`${out[0]}\textra`)).toThrow("wg show all dump: line 1: expected 5 (interface) or 9 (peer) columns, got 6");
  });
});

describe("addresses and links as ip prints them (captured from a vm-tier host with a mesh)", () => {
  const sections = () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "refresh");
    const nonce = readFileSync(join(dir, "zfs-2.3-prod-seed-dr-health.nonce"), "utf8").trim();
    return splitSections(readFileSync(join(dir, "zfs-2.3-prod-seed-dr-health.txt"), "utf8"), nonce);
  };
  it("reads every address of every interface, IPv4 and IPv6, in order", () => {
    const a = ipAddr.parse(sections().get("ip-addr")!.stdout);
    expect(a.get("wg0")).toEqual(["10.201.0.137/24"]);
    expect(a.get("ens6")).toEqual(["10.0.2.15/24", "fec0::5054:ff:febb:101/64", "fe80::5054:ff:febb:101/64"]);
    expect(a.get("lo")).toEqual(["127.0.0.1/8", "::1/128"]);
    expect(() => ipAddr.parse("garbage line\n")).toThrow('ip -o addr show: line 1: unexpected line "garbage line"');
  });
  it("reads each link's MTU and whether it is UP (the flag, not a word that contains it)", () => {
    const l = ipLink.parse(sections().get("ip-link")!.stdout);
    expect(l.get("wg0")).toEqual({ mtu: 1420, up: true });
    expect(l.get("lo")).toEqual({ mtu: 65536, up: true });
    const down = ipLink.parse("4: wg0: <POINTOPOINT,NOARP> mtu 1380 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/none \n");
    expect(down.get("wg0")).toEqual({ mtu: 1380, up: false });
    // a veth in a namespace is printed name@peer
    expect(ipLink.parse("7: veth0@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP\n").get("veth0")).toEqual({ mtu: 1500, up: true });
    expect(ipLink.parse("4: wg0: <POINTOPOINT,LOWER_UP> mtu 1420 qdisc noqueue\n").get("wg0")!.up).toBe(false);
    expect(() => ipLink.parse("4: wg0 no flags\n")).toThrow('ip -o link show: line 1: unexpected line "4: wg0 no flags"');
  });
  it("the host read: implementation, persisted configs, markers; each at most once", async () => {
    const { wgHost } = await import("../../provider/wg/facts.js");
    expect(wgHost.parse("impl wireguard-go\nconf wg0\nconf wg1\n")).toEqual({ implementation: "wireguard-go", persisted: new Set(["wg0", "wg1"]), markers: new Map() });
    expect(wgHost.parse("impl none\n").implementation).toBe("none");
    expect(() => wgHost.parse("impl quantum\n")).toThrow('wireguard host: line 1: unexpected or repeated line "impl quantum"');
    expect(() => wgHost.parse("impl kernel\nconf wg0\nconf wg0\n")).toThrow(/line 3: unexpected or repeated/);
    expect(() => wgHost.parse("impl kernel\nconf a-name-longer-than-15\n")).toThrow(/unexpected/);
  });
});
