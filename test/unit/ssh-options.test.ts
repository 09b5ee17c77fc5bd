/**
 * Paths reach ssh exactly: the option quoting is read back by the real OpenSSH parser
 * (`ssh -G -F /dev/null`, which prints the resulting configuration and connects nowhere),
 * and the same cases by our port of it used in the property tests. Host keys are parsed:
 * real keys made here by ssh-keygen pass; truncated, relabelled or padded ones do not.
 */
import { describe, it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { knownHostsLine, sshOptionValue } from "../../provider/transport/ssh.js";
import { hostKeyProblem } from "../../provider/schema/host-key.js";
import { optionValue } from "./helpers/openssh.js";

const hasSsh = (() => {
  try {
    execFileSync("ssh", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const PATHS = ["/home/ops/my keys/id_ed25519", "/tmp/it's", '/tmp/a"b', "/tmp/back\\slash", "/tmp/#hash", "/tmp/100%", "/tmp/%C", "/tmp/tab\there".replace("\t", " "), "~/.ssh/id ed", "/tmp/ünï"];

function sshG(option: string): Record<string, string> {
  const out = execFileSync("ssh", ["-G", "-F", "/dev/null", "-o", option, "example.invalid"], { encoding: "utf8" });
  return Object.fromEntries(out.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]));
}

describe("ssh option values are quoted so ssh reads back exactly the path", () => {
  it.each(PATHS)("UserKnownHostsFile %j, as the real ssh parses it", (path) => {
    if (!hasSsh) return;
    const option = `UserKnownHostsFile=${sshOptionValue(path, { percentTokens: true })}`;
    // ssh -G prints UserKnownHostsFile after %-expansion, with ~ expanded
    const home = process.env.HOME ?? "";
    expect(sshG(option).userknownhostsfile).toBe(path.startsWith("~/") ? `${home}${path.slice(1)}` : path);
    expect(optionValue(option, { percentTokens: true })).toBe(path);
  });

  it.each(PATHS)("IdentityFile %j is one word (ssh expands its percent-tokens and ~ when it loads the key)", (path) => {
    if (!hasSsh) return;
    const option = `IdentityFile=${sshOptionValue(path, { percentTokens: true })}`;
    // -G prints IdentityFile before %- and ~-expansion: %% still doubled
    expect(sshG(option).identityfile!.replace(/%%/g, "%")).toBe(path);
    expect(optionValue(option, { percentTokens: true })).toBe(path);
  });

  it("a control character can never be quoted for ssh", () => {
    expect(() => sshOptionValue("/a\nb", { percentTokens: false })).toThrow(/control character/);
  });

  it("known_hosts gets exactly one line, from a validated key and alias only", () => {
    expect(knownHostsLine("backplane-prod", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFcmkXaJQP9UeFWhIybVTNxpBbWmuCdLI0Hs4SDRawg")).toBe(
      "backplane-prod ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFcmkXaJQP9UeFWhIybVTNxpBbWmuCdLI0Hs4SDRawg\n",
    );
    expect(() => knownHostsLine("backplane-x\n*", "ssh-ed25519 AAAA")).toThrow(/not validated/);
    expect(() => knownHostsLine("backplane-x", "ssh-ed25519 AAAA\n* ssh-rsa BBBB")).toThrow(/not validated/);
  });
});

describe("pinned host keys are parsed, not pattern-matched", () => {
  const dir = mkdtempSync(join(tmpdir(), "bp-keys-"));
  const real: Record<string, string> = {};
  if (hasSsh) {
    for (const [type, args] of [["ed25519", []], ["rsa", ["-b", "2048"]], ["ecdsa256", ["-t", "ecdsa", "-b", "256"]], ["ecdsa384", ["-t", "ecdsa", "-b", "384"]], ["ecdsa521", ["-t", "ecdsa", "-b", "521"]]] as const) {
      const f = join(dir, type);
      execFileSync("ssh-keygen", [...(args.length && args[0] === "-t" ? [] : ["-t", type]), ...args, "-N", "", "-q", "-C", "test key", "-f", f]);
      real[type] = readFileSync(`${f}.pub`, "utf8").trim();
    }
  }
  rmSync(dir, { recursive: true, force: true });

  it("real keys of every supported type are accepted, comment and all", () => {
    for (const k of Object.values(real)) expect(hostKeyProblem(k)).toBeNull();
  });

  it("a truncated key is refused", () => {
    if (!hasSsh) return;
    const [type, b64] = real.ed25519!.split(" ") as [string, string];
    const cut = Buffer.from(b64, "base64").subarray(0, 40).toString("base64");
    expect(hostKeyProblem(`${type} ${cut}`)).toContain("truncated");
  });

  it("a blob of another type under a trusted label is refused", () => {
    if (!hasSsh) return;
    const rsaBlob = real.rsa!.split(" ")[1]!;
    expect(hostKeyProblem(`ssh-ed25519 ${rsaBlob}`)).toContain("labelled ssh-ed25519 but its blob is a ssh-rsa key");
    const p256 = real.ecdsa256!.split(" ")[1]!;
    expect(hostKeyProblem(`ecdsa-sha2-nistp384 ${p256}`)).toContain("labelled ecdsa-sha2-nistp384");
  });

  it("bytes after the key, non-canonical base64 and control characters are refused", () => {
    if (!hasSsh) return;
    const [type, b64] = real.ed25519!.split(" ") as [string, string];
    const padded = Buffer.concat([Buffer.from(b64, "base64"), Buffer.from([0, 0, 0, 0])]).toString("base64");
    expect(hostKeyProblem(`${type} ${padded}`)).toContain("after the key");
    expect(hostKeyProblem(`${type} ${b64.slice(0, -1)}`)).toContain("base64");
    expect(hostKeyProblem(`${type} ${b64}\n* ssh-ed25519 ${b64}`)).toContain("control character");
    expect(hostKeyProblem("ssh-dss AAAAB3NzaC1kc3M=")).toContain("not one of");
  });
});

describe("a key blob is read field by field (RSA, ECDSA, ed25519), each refusal saying what is wrong", () => {
  // the wire format: each field a 4-byte big-endian length and its bytes; real keys taken apart and put back together
  const dir = mkdtempSync(join(tmpdir(), "bp-keys2-"));
  const real: Record<string, string> = {};
  if (hasSsh) for (const [name, args] of [["ed25519", ["-t", "ed25519"]], ["rsa", ["-t", "rsa", "-b", "2048"]], ["p256", ["-t", "ecdsa", "-b", "256"]]] as const) {
    execFileSync("ssh-keygen", [...args, "-N", "", "-q", "-f", join(dir, name)]);
    real[name] = readFileSync(join(dir, `${name}.pub`), "utf8").split(" ")[1]!;
  }
  rmSync(dir, { recursive: true, force: true });
  const fields = (b64: string): Buffer[] => {
    const b = Buffer.from(b64, "base64");
    const out: Buffer[] = [];
    for (let at = 0; at < b.length; ) {
      const n = b.readUInt32BE(at);
      out.push(b.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    }
    return out;
  };
  const blob = (...parts: (Buffer | string)[]) => Buffer.concat(parts.flatMap((p) => {
    const x = typeof p === "string" ? Buffer.from(p) : p;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(x.length);
    return [len, x];
  })).toString("base64");
  const problem = (type: string, b64: string) => hostKeyProblem(`${type} ${b64}`);

  it("RSA: an even exponent, an exponent of 1 and a modulus under 1024 bits are refused; the real parts pass", () => {
    if (!hasSsh) return;
    const [, e, n] = fields(real.rsa!);
    expect(problem("ssh-rsa", blob("ssh-rsa", e!, n!))).toBeNull();
    expect(problem("ssh-rsa", blob("ssh-rsa", Buffer.from([0x01, 0x00, 0x00]), n!))).toBe("the RSA exponent is not an odd number above 1");
    expect(problem("ssh-rsa", blob("ssh-rsa", Buffer.from([0x01]), n!))).toBe("the RSA exponent is not an odd number above 1");
    expect(problem("ssh-rsa", blob("ssh-rsa", Buffer.from([0x00, 0x00]), n!))).toBe("the RSA exponent is not an odd number above 1");
    // the real modulus cut to 1016 bits (127 bytes, top bit set) and to exactly 1024
    expect(problem("ssh-rsa", blob("ssh-rsa", e!, Buffer.concat([Buffer.from([0]), n!.subarray(1, 128)])))).toBe("the RSA modulus has 1016 bits; OpenSSH refuses fewer than 1024");
    expect(problem("ssh-rsa", blob("ssh-rsa", e!, Buffer.concat([Buffer.from([0]), n!.subarray(1, 129)])))).toBeNull();
    expect(problem("ssh-rsa", blob("ssh-rsa", e!, Buffer.from([0, 0, 0])))).toBe("the RSA modulus has 0 bits; OpenSSH refuses fewer than 1024");
  });

  it("ECDSA: the curve must be the label's, the point uncompressed and of the curve's size", () => {
    if (!hasSsh) return;
    const [, curve, q] = fields(real.p256!);
    expect(curve!.toString()).toBe("nistp256");
    expect(problem("ecdsa-sha2-nistp256", blob("ecdsa-sha2-nistp256", "nistp384", q!))).toBe("the key is labelled ecdsa-sha2-nistp256 but names the curve nistp384");
    expect(problem("ecdsa-sha2-nistp256", blob("ecdsa-sha2-nistp256", "nistp256", q!.subarray(0, 64)))).toBe("a ecdsa-sha2-nistp256 key is an uncompressed point of 65 bytes; this one is 64");
    const compressed = Buffer.from(q!);
    compressed[0] = 2;
    expect(problem("ecdsa-sha2-nistp256", blob("ecdsa-sha2-nistp256", "nistp256", compressed))).toBe("a ecdsa-sha2-nistp256 key is an uncompressed point of 65 bytes; this one is 65");
    // the size is checked, not that the point lies on the curve (ssh refuses such a key when it connects)
    expect(problem("ecdsa-sha2-nistp384", blob("ecdsa-sha2-nistp384", "nistp384", Buffer.concat([q!, Buffer.alloc(32)])))).toBeNull();
    expect(problem("ecdsa-sha2-nistp521", blob("ecdsa-sha2-nistp521", "nistp521", q!))).toBe("a ecdsa-sha2-nistp521 key is an uncompressed point of 133 bytes; this one is 65");
  });

  it("ed25519: the key is 32 bytes; a blob cut before or inside a field says which", () => {
    if (!hasSsh) return;
    const [, k] = fields(real.ed25519!);
    expect(problem("ssh-ed25519", blob("ssh-ed25519", k!.subarray(0, 31)))).toBe("an ssh-ed25519 key is 32 bytes; this one is 31");
    expect(problem("ssh-ed25519", blob("ssh-ed25519"))).toBe("the key blob is truncated before the ed25519 key");
    const inside = Buffer.from(blob("ssh-ed25519", k!), "base64").subarray(0, 4 + 11 + 4 + 10).toString("base64");
    expect(problem("ssh-ed25519", inside)).toBe("the key blob is truncated inside the ed25519 key (needs 32 bytes, has 10)");
    expect(problem("ssh-ed25519", blob("ssh-ed25519", k!, "x"))).toBe("the key blob has 5 bytes after the key");
    expect(problem("ssh-ed25519", Buffer.from([0, 0, 0]).toString("base64"))).toBe("the key blob is truncated before its type");
  });

  it("boundaries: an empty field right at the end is read (and refused for its size), exponent 3 is the smallest accepted", () => {
    if (!hasSsh) return;
    expect(problem("ssh-ed25519", blob("ssh-ed25519", ""))).toBe("an ssh-ed25519 key is 32 bytes; this one is 0");
    const [, , n] = fields(real.rsa!);
    expect(problem("ssh-rsa", blob("ssh-rsa", Buffer.from([3]), n!))).toBeNull();
    expect(hostKeyProblem(`ssh-ed25519 ${real.ed25519}\u001b`)).toBe("contains a control character (U+001B); a host key is one line");
  });

  it("a known_hosts file: indented lines, runs of blanks and [host]:port names are read; comments and near-misses are not", async () => {
    if (!hasSsh) return;
    const { learnedHostKeyOf } = await import("../../provider/schema/host-key.js");
    const key = `ssh-ed25519 ${real.ed25519}`;
    expect(learnedHostKeyOf(`   prod   ssh-ed25519   ${real.ed25519}\n`, "prod")).toEqual({ key });
    expect(learnedHostKeyOf(`[prod]:2222 ${key}\n`, "prod")).toEqual({ key });
    expect(learnedHostKeyOf(`#prod ${key}\n`, "prod")).toEqual({ none: true });
    expect(learnedHostKeyOf(`x[prod]:2222 ${key}\n[prod]:22x ${key}\n`, "prod")).toEqual({ none: true });
    expect(learnedHostKeyOf(`@cert-authority prod ${key}\n`, "prod")).toEqual({ none: true });
  });

  it("the line: one key type and base64 with an optional comment; a control character named by its code point", () => {
    if (!hasSsh) return;
    expect(hostKeyProblem(`ssh-ed25519  ${real.ed25519}`)).toMatch(/^must be an OpenSSH public key line/);
    expect(hostKeyProblem(`ssh-ed25519 ${real.ed25519} `)).toMatch(/^must be an OpenSSH public key line/);
    expect(hostKeyProblem(`ssh-ed25519 ${real.ed25519} a comment`)).toBeNull();
    expect(hostKeyProblem(`ssh-ed25519 ${real.ed25519}\u0007`)).toBe("contains a control character (U+0007); a host key is one line");
    expect(hostKeyProblem(`ssh-ed25519 ${real.ed25519!.slice(0, -4)}AA=A`)).toBe("the key is not canonical base64");
    expect(hostKeyProblem("ssh-dss AAAA")).toBe(`key type 'ssh-dss' is not one of ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521`);
  });
});

describe("each host has its own ssh master and its pinning cannot be widened", () => {
  const option = (args: string[], key: string) => args.find((a) => a.startsWith(`${key}=`));
  it("two aliases with the same address, port and user get different ControlPaths (a timeout on one cannot cut the other)", async () => {
    const { SshTransport } = await import("../../provider/transport/ssh.js");
    const { argv } = await import("../../provider/model/argv.js");
    const cfg = { address: "10.0.0.2", port: 22, user: "root", knownHostsFile: "/dev/null", commandPrefix: [], connectTimeout: 5 };
    const a = new SshTransport({ ...cfg, alias: "a" }).prepare(argv("true")).args;
    const b = new SshTransport({ ...cfg, alias: "b" }).prepare(argv("true")).args;
    expect(option(a, "ControlPath")).toMatch(/%C"$/);
    expect(option(a, "ControlPath")).not.toBe(option(b, "ControlPath"));
  });
  // the real ssh is part of the test (.ci/run installs openssh-client): it is not skipped when missing
  it("a KnownHostsCommand from an ssh_config_file is overridden (ssh -G reads the resulting configuration)", async () => {
    const { SshTransport } = await import("../../provider/transport/ssh.js");
    const { argv } = await import("../../provider/model/argv.js");
    const dir = mkdtempSync(join(tmpdir(), "bp-sshcfg-"));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "config"), "Host *\n  KnownHostsCommand /bin/echo 10.0.0.2 ssh-ed25519 AAAA\n");
    const args = new SshTransport({ alias: "a", address: "10.0.0.2", port: 22, user: "root", knownHostsFile: "/dev/null", sshConfigFile: join(dir, "config"), commandPrefix: [], connectTimeout: 5 }).prepare(argv("true")).args;
    const out = execFileSync("ssh", ["-G", ...args.slice(0, args.indexOf("--")), "10.0.0.2"], { encoding: "utf8" });
    expect(out).not.toMatch(/^knownhostscommand /m);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("trust: a host the stack pins no key for", () => {
  const base = { alias: "prod", address: "10.0.0.2", port: 2201, user: "root", commandPrefix: [], connectTimeout: 5 };
  const resulting = (args: string[]) => {
    const out = execFileSync("ssh", ["-G", ...args.slice(0, args.indexOf("--")), "10.0.0.2"], { encoding: "utf8" });
    return Object.fromEntries(out.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]));
  };

  it("is refused before ssh starts unless trust on first use was asked for", async () => {
    const { SshTransport, UnpinnedHostError } = await import("../../provider/transport/ssh.js");
    expect(() => new SshTransport(base)).toThrow(UnpinnedHostError);
    expect(() => new SshTransport(base)).toThrow(/prod: the stack pins no host key.*--trust-on-first-use/);
  });

  it("with trust on first use asked for, ssh accepts only a new key, records it plainly under the alias in the given file", async () => {
    const { SshTransport } = await import("../../provider/transport/ssh.js");
    const { argv } = await import("../../provider/model/argv.js");
    const file = "/tmp/my project/.backplane/100%.known_hosts";
    const g = resulting(new SshTransport(base, { acceptNewInto: file }).prepare(argv("true")).args);
    expect(g.stricthostkeychecking).toBe("accept-new");
    expect(g.userknownhostsfile).toBe(file);
    expect(g.hostkeyalias).toBe("backplane-prod");
    expect(g.hashknownhosts).toBe("no");
    expect(g.globalknownhostsfile).toBe("/dev/null");
  });

  it("a pinned key is checked strictly even when trust on first use was asked for", async () => {
    const { SshTransport } = await import("../../provider/transport/ssh.js");
    const { argv } = await import("../../provider/model/argv.js");
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFcmkXaJQP9UeFWhIybVTNxpBbWmuCdLI0Hs4SDRawg";
    const g = resulting(new SshTransport({ ...base, hostKey: key }, { acceptNewInto: "/tmp/learnt" }).prepare(argv("true")).args);
    expect(g.stricthostkeychecking).toBe("true");
    expect(g.userknownhostsfile).not.toBe("/tmp/learnt");
    const k = resulting(new SshTransport({ ...base, knownHostsFile: "/etc/ssh/ours%" }, { acceptNewInto: "/tmp/learnt" }).prepare(argv("true")).args);
    expect(k.stricthostkeychecking).toBe("true");
    expect(k.userknownhostsfile).toBe("/etc/ssh/ours%");
  });

  it("an ssh_config_file cannot widen the check: no SSHFP from DNS, and a known_hosts_file is searched under the host's own name, not the file's HostKeyAlias", async () => {
    const { SshTransport } = await import("../../provider/transport/ssh.js");
    const { argv } = await import("../../provider/model/argv.js");
    const { writeFileSync } = await import("node:fs");
    const d = mkdtempSync(join(tmpdir(), "bp-sshcfg-"));
    writeFileSync(join(d, "config"), "Host *\n  VerifyHostKeyDNS yes\n  HostKeyAlias evil\n  CheckHostIP yes\n");
    const g = resulting(new SshTransport({ ...base, knownHostsFile: "/etc/ssh/ours", sshConfigFile: join(d, "config") }).prepare(argv("true")).args);
    expect(g.verifyhostkeydns).toBe("false");
    expect(g.hostkeyalias).toBe("[10.0.0.2]:2201");
    expect(g.checkhostip).toBe("no");
    const pinned = resulting(new SshTransport({ ...base, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFcmkXaJQP9UeFWhIybVTNxpBbWmuCdLI0Hs4SDRawg", sshConfigFile: join(d, "config") }).prepare(argv("true")).args);
    expect(pinned.verifyhostkeydns).toBe("false");
    expect(pinned.hostkeyalias).toBe("backplane-prod");
    rmSync(d, { recursive: true, force: true });
  });

  it("an ssh_config_file under ~/ is the operator's home (ssh -F would look for a folder named '~')", async () => {
    const { SshTransport } = await import("../../provider/transport/ssh.js");
    const { argv } = await import("../../provider/model/argv.js");
    const { userInfo } = await import("node:os");
    const args = new SshTransport({ ...base, knownHostsFile: "/dev/null", sshConfigFile: "~/.ssh/lab config" }).prepare(argv("true")).args;
    expect(args[args.indexOf("-F") + 1]).toBe(`${userInfo().homedir}/.ssh/lab config`);
  });
});

describe("a key learnt on first use is read back from the known_hosts ssh wrote", () => {
  // test/fixtures/known-hosts/accept-new.txt: written by OpenSSH 9.2 itself (accept-new,
  // HostKeyAlias backplane-prod, HashKnownHosts=no) against the lab host prod
  const written = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "known-hosts", "accept-new.txt"), "utf8");
  it("finds the key ssh recorded under the alias", async () => {
    const { learnedHostKey } = await import("../../provider/schema/host-key.js");
    const key = learnedHostKey(written, "backplane-prod");
    expect(key).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
    expect(written).toContain(key!);
  });
  it.each([
    ["another alias", (w: string) => w, "backplane-dr", null],
    ["a revoked marker line", (w: string) => `@revoked ${w}`, "backplane-prod", null],
    ["a comment", (w: string) => `# ${w}`, "backplane-prod", null],
    ["a hashed name", (w: string) => w.replace(/^\S+/, "|1|c2FsdA==|aGFzaA=="), "backplane-prod", null],
    ["a truncated key", (w: string) => w.replace(/(\S+ \S+ \S{20})\S+/, "$1"), "backplane-prod", null],
    ["the alias with a port, among other names", (w: string) => w.replace(/^\S+/, "other,[backplane-prod]:2201"), "backplane-prod", "key"],
  ] as const)("%s", async (_what, edit, name, expected) => {
    const { learnedHostKey } = await import("../../provider/schema/host-key.js");
    const got = learnedHostKey(edit(written.trim()), name);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toBe(learnedHostKey(written, "backplane-prod"));
  });
});
