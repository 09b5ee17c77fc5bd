/**
 * Which key each host is checked against (provider/cli/trust.ts), with a stand-in `ssh` first
 * on PATH that records its argv and, for the first connection with accept-new, appends the
 * key it "presents" under the HostKeyAlias it was given — as OpenSSH 9.2 did on the lab
 * (test/fixtures/known-hosts/accept-new.txt). The real ssh's side is in test/e2e/trust.test.ts.
 */
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { resolveHostTrust, learnedKeysFile } from "../../provider/cli/trust.js";
import { transportsFor, closeTransports } from "../../provider/cli/compose.js";
import { UnpinnedHostError } from "../../provider/transport/ssh.js";
import { HostKeyError, sshFingerprint } from "../../provider/transport/transport.js";
import type { Project } from "../../provider/engine/project.js";
import type { HostConfig } from "../../provider/model/desired.js";

const captured = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "known-hosts", "accept-new.txt"), "utf8").trim();
const KEY_A = captured.split(" ").slice(1).join(" ");
let KEY_B = "";

let dir: string;
let log: string;
let savedPath: string | undefined;

function fakeSsh(presents: Record<string, string>): void {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "ssh"), [
    "#!/bin/sh",
    `printf '%s\\n' "$*" >> '${log}'`,
    'kh=""; alias=""; mode=""; dest=""; prev=""',
    'for a in "$@"; do',
    '  case "$a" in UserKnownHostsFile=*) kh=${a#UserKnownHostsFile=}; kh=${kh#\\"}; kh=${kh%\\"} ;; HostKeyAlias=*) alias=${a#HostKeyAlias=} ;; StrictHostKeyChecking=*) mode=${a#StrictHostKeyChecking=} ;; esac',
    '  [ "$a" = "-O" ] && exit 0',
    '  if [ "$prev" = "--" ] && [ -z "$dest" ]; then dest="$a"; fi; prev="$a"',
    "done",
    'case "$dest" in',
    ...Object.entries(presents).map(([addr, key]) => `  ${addr}) key='${key}' ;;`),
    '  *) echo "ssh: connect to host $dest port 22: Connection refused" >&2; exit 255 ;;',
    "esac",
    '[ "$mode" = accept-new ] && printf "%s %s\\n" "$alias" "$key" >> "$kh"',
    "exit 0",
    "",
  ].join("\n"));
  chmodSync(join(bin, "ssh"), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
}

const host = (alias: string, address: string, extra: Partial<HostConfig> = {}): HostConfig => ({ alias, address, port: 22, user: "root", commandPrefix: [], connectTimeout: 5, ...extra });
function projectWith(hosts: HostConfig[]): Project {
  return { dir, stack: "s", configHash: "x", graph: { hosts: new Map(hosts.map((h) => [h.alias, h])), resources: new Map(), order: [], backend: undefined, pskPairs: [] } } as unknown as Project;
}
const sshRuns = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((l) => l && !l.includes(" -O ")) : []);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bp-tofu-"));
  log = join(dir, "ssh.log");
  savedPath = process.env.PATH;
  if (!KEY_B) {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", join(dir, "b")]);
    KEY_B = readFileSync(join(dir, "b.pub"), "utf8").trim();
  }
});
afterEach(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

describe("trust on first use, only when asked for", () => {
  it("without the flag an unpinned host stays unpinned, and making its transport is refused before ssh starts", async () => {
    fakeSsh({ "192.0.2.1": KEY_A });
    const notices: string[] = [];
    const p = await resolveHostTrust(projectWith([host("prod", "192.0.2.1")]), { trustOnFirstUse: false, onNotice: (m) => notices.push(m) });
    expect(p.graph.hosts.get("prod")!.hostKey).toBeUndefined();
    expect(() => transportsFor(p.graph.hosts.values())).toThrow(UnpinnedHostError);
    expect(sshRuns()).toEqual([]);
    expect(notices).toEqual([]);
    expect(existsSync(learnedKeysFile(p))).toBe(false);
  });

  it("with the flag: one accept-new connection, the key printed with its fingerprint, recorded privately, then pinned for the run", async () => {
    fakeSsh({ "192.0.2.1": KEY_A });
    const notices: string[] = [];
    const p = await resolveHostTrust(projectWith([host("Prod", "192.0.2.1")]), { trustOnFirstUse: true, onNotice: (m) => notices.push(m) });
    const h = p.graph.hosts.get("Prod")!;
    expect(h.hostKey).toBe(KEY_A);
    expect(h.hostKeyLearntIn).toMatch(/\.backplane\/s\.known_hosts$/);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`Prod: trusted on first use (--trust-on-first-use): 192.0.2.1 port 22 presented ssh-ed25519 ${sshFingerprint(KEY_A)}`);
    expect(notices[0]).toContain(`Pin it in the stack: hostKey: "${KEY_A}"`);
    // ssh files the key under the alias in lower case (as the real one does)
    expect(readFileSync(learnedKeysFile(p), "utf8")).toBe(`backplane-prod ${KEY_A}\n`);
    expect(statSync(learnedKeysFile(p)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, ".backplane")).mode & 0o777).toBe(0o700);
    expect(sshRuns()).toHaveLength(1);
    expect(sshRuns()[0]).toContain("StrictHostKeyChecking=accept-new");
  });

  it("a learnt key is checked strictly, with or without the flag: no accept-new connection, another presented key refused naming the file", async () => {
    fakeSsh({ "192.0.2.1": KEY_B });
    mkdirSync(join(dir, ".backplane"));
    writeFileSync(join(dir, ".backplane", "s.known_hosts"), `backplane-prod ${KEY_A}\n`);
    for (const trustOnFirstUse of [false, true]) {
      const notices: string[] = [];
      const p = await resolveHostTrust(projectWith([host("prod", "192.0.2.1")]), { trustOnFirstUse, onNotice: (m) => notices.push(m) });
      expect(p.graph.hosts.get("prod")!.hostKey).toBe(KEY_A);
      expect(notices[0]).toContain(`prod: checking the host key learnt on first use (ssh-ed25519 ${sshFingerprint(KEY_A)}`);
    }
    expect(sshRuns()).toEqual([]);
    expect(readFileSync(join(dir, ".backplane", "s.known_hosts"), "utf8")).toBe(`backplane-prod ${KEY_A}\n`);
    const e = new HostKeyError("prod", "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:abc.\nHost key verification failed.", KEY_A, ".backplane/s.known_hosts");
    expect(e.message).toContain(`the host presented key SHA256:abc, the key learnt on first use (.backplane/s.known_hosts) is ${sshFingerprint(KEY_A)} — refusing to connect`);
  });

  it("a learnt file that is a symlink, or holds two keys for the host, or a revoked one, is refused and left as it is", async () => {
    fakeSsh({ "192.0.2.1": KEY_A });
    mkdirSync(join(dir, ".backplane"));
    const victim = join(dir, "victim");
    writeFileSync(victim, "untouched\n", { mode: 0o644 });
    symlinkSync(victim, join(dir, ".backplane", "s.known_hosts"));
    // read through the link finds no key; recording through it is refused
    await expect(resolveHostTrust(projectWith([host("prod", "192.0.2.1")]), { trustOnFirstUse: true, onNotice: () => {} })).rejects.toThrow(/is a symlink: refusing to record host keys through it/);
    expect(readFileSync(victim, "utf8")).toBe("untouched\n");
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    expect(sshRuns()).toEqual([]);
    rmSync(join(dir, ".backplane", "s.known_hosts"));
    for (const [text, why] of [[`backplane-prod ${KEY_A}\nbackplane-prod ${KEY_B}\n`, /2 different keys are recorded/], [`backplane-prod ${KEY_A}\n@revoked * ${KEY_A}\n`, /marked @revoked/]] as const) {
      writeFileSync(join(dir, ".backplane", "s.known_hosts"), text);
      await expect(resolveHostTrust(projectWith([host("prod", "192.0.2.1")]), { trustOnFirstUse: true, onNotice: () => {} })).rejects.toThrow(why);
    }
    expect(sshRuns()).toEqual([]);
  });

  it("when one host fails its first connection, the key another host presented is still announced, and the run stops", async () => {
    fakeSsh({ "192.0.2.1": KEY_A });
    const notices: string[] = [];
    await expect(resolveHostTrust(projectWith([host("a", "192.0.2.1"), host("b", "192.0.2.2")]), { trustOnFirstUse: true, onNotice: (m) => notices.push(m) })).rejects.toThrow(/b: cannot connect over ssh/);
    expect(notices.join("\n")).toContain(`a: trusted on first use (--trust-on-first-use): 192.0.2.1 port 22 presented ssh-ed25519 ${sshFingerprint(KEY_A)}`);
  });

  it("a pinned host never takes part, and its transport checks the pin", async () => {
    fakeSsh({ "192.0.2.1": KEY_B });
    const p = projectWith([host("prod", "192.0.2.1", { hostKey: KEY_A })]);
    expect(await resolveHostTrust(p, { trustOnFirstUse: true, onNotice: () => {} })).toBe(p);
    const ts = transportsFor(p.graph.hosts.values());
    await closeTransports(ts.values());
    expect(sshRuns()).toEqual([]);
  });
});
