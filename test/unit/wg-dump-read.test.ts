/**
 * The WireGuard read is a shell script run on the host; here it runs for real under this
 * machine's sh, with a `wg` on PATH that fails the way a broken wg does (it exits non-zero).
 * A failed read must fail the refresh: read as "no interfaces", the plan would propose to
 * create every interface again.
 */
import { describe, it, expect } from "vitest";
import { execa } from "execa";
import { mkdtemp, writeFile, chmod, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wgDump } from "../../provider/wg/facts.js";

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
