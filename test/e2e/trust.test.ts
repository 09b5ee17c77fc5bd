/**
 * Trust: a host whose key is not the one the stack pins is refused before any command runs,
 * and the refusal names both fingerprints (the pinned one and the one the host presented).
 */
import { describe, it, expect } from "vitest";
import { execa } from "execa";
import { mkdtemp, readFile, writeFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labHost } from "../lab/hosts.js";
import { backplane, hostConfig, project } from "./helpers.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { HostKeyError, sshFingerprint } from "../../provider/transport/transport.js";
import { argv } from "../../provider/model/argv.js";

describe("host keys", () => {
  it("refuses a host presenting another key than the pinned one, naming both fingerprints, running nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-trust-"));
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "other"), "-C", ""]);
    const otherKey = (await readFile(join(dir, "other.pub"), "utf8")).trim();
    const prod = labHost("prod");
    const t = new SshTransport({ ...hostConfig(prod), hostKey: otherKey });
    const err = await t.run(argv("touch", "/root/trust-test-ran")).then(() => null, (e: unknown) => e);
    await t.close();
    expect(err).toBeInstanceOf(HostKeyError);
    const e = err as HostKeyError;
    expect(e.pinned).toBe(sshFingerprint(otherKey));
    expect(e.presented).toBe(sshFingerprint(prod.hostKey));
    expect(e.message).toContain(`the host presented key ${sshFingerprint(prod.hostKey)}, the stack pins ${sshFingerprint(otherKey)}`);
    // nothing ran: the pinned key opens the door again and finds no trace
    const ok = new SshTransport(hostConfig(prod));
    expect((await ok.run(argv("test", "-e", "/root/trust-test-ran"))).exitCode).toBe(1);
    await ok.close();
  });

  it("refuses a host whose key is not known at all (no trust on first use), running nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-trust-"));
    const empty = join(dir, "known_hosts");
    await writeFile(empty, "");
    const { hostKey: _pinned, ...unpinned } = hostConfig(labHost("prod"));
    const t = new SshTransport({ ...unpinned, knownHostsFile: empty });
    const err = await t.run(argv("true")).then(() => null, (e: unknown) => e);
    await t.close();
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as Error).message).toContain("prod: the host's key is not known");
    expect(await readFile(empty, "utf8")).toBe(""); // nothing was learnt on the way
  });

  it("computes fingerprints as OpenSSH does", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-trust-"));
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "k"), "-C", ""]);
    const pub = (await readFile(join(dir, "k.pub"), "utf8")).trim();
    const lf = (await execa("ssh-keygen", ["-lf", join(dir, "k.pub")])).stdout.split(" ")[1];
    expect(sshFingerprint(pub)).toBe(lf);
  });
});

describe("trust on first use, only when asked for", () => {
  it("an unpinned host is refused without the flag; with it the key is accepted and printed, then checked strictly; a changed key is refused with both fingerprints", async () => {
    const prod = labHost("prod");
    const p = await project("trust-first-use", `
new Host(stack, "prod", { ...hostProps(prodInv), hostKey: undefined });
`);
    const learnt = join(p, ".backplane", "trust-first-use.known_hosts");
    const real = sshFingerprint(prod.hostKey)!;

    const refused = await backplane(p, ["facts"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/prod: the stack pins no host key for this host .*--trust-on-first-use/);
    await expect(stat(learnt)).rejects.toThrow(/ENOENT/); // nothing learnt, nothing reached the host

    const first = await backplane(p, ["facts", "--no-synth", "--trust-on-first-use"]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain(`prod: trusted on first use (--trust-on-first-use): ${prod.address} port ${prod.port} presented ssh-ed25519 ${real}`);
    expect(first.stderr).toContain(`Pin it in the stack: hostKey: "${prod.hostKey}"`);
    expect(first.stdout).toMatch(/^prod: OpenZFS 2\.3/m);
    expect(await readFile(learnt, "utf8")).toBe(`backplane-prod ${prod.hostKey}\n`);
    expect((await stat(learnt)).mode & 0o077).toBe(0);

    const again = await backplane(p, ["facts", "--no-synth"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain(`prod: checking the host key learnt on first use (ssh-ed25519 ${real}`);

    // another machine answering at that address now: the learnt key decides, the flag does not widen it
    const dir = await mkdtemp(join(tmpdir(), "bp-trust-"));
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "other"), "-C", ""]);
    const otherKey = (await readFile(join(dir, "other.pub"), "utf8")).trim();
    await writeFile(learnt, `backplane-prod ${otherKey}\n`);
    for (const flags of [[], ["--trust-on-first-use"]]) {
      const changed = await backplane(p, ["facts", "--no-synth", ...flags]);
      expect(changed.exitCode).toBe(1);
      expect(changed.stderr).toContain(`prod: the host presented key ${real}, the key learnt on first use (.backplane/trust-first-use.known_hosts) is ${sshFingerprint(otherKey)} — refusing to connect`);
    }
    expect(await readFile(learnt, "utf8")).toBe(`backplane-prod ${otherKey}\n`);
  });
});
