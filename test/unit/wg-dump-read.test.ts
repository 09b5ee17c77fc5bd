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
