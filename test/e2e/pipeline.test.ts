/** The seed's pipeline example (examples/pipeline) runs on a vm-tier host and writes less than the copy-based way. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execa } from "execa";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { resetHosts, ROOT } from "./helpers.js";

const dir = join(ROOT, "examples", "pipeline");
const clean = () => Promise.all(["terraform.pipeline.tfstate", "terraform.pipeline.tfstate.backup"].map((f) => rm(join(dir, f), { force: true })));

describe("the upload → clone → transcode → send pipeline (vm tier)", () => {
  beforeAll(async () => {
    await resetHosts();
    await clean();
  }, 120_000);
  afterAll(clean);

  it("runs end to end, the output is the transformed file, and it writes well under the copy-based way", async () => {
    const r = await execa("npx", ["tsx", join(dir, "run.mts"), "--size-mib", "24"], { cwd: ROOT, reject: false });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("the same as the transformed clone's");
    const m = /ZFS way ([\d.]+) MiB; copies through userspace \(dd\) ([\d.]+) MiB \(ratio ([\d.]+);/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const [zfsWay, copyWay] = [Number(m![1]), Number(m![2])];
    // one write of 24 MiB plus twice the changed tenth, against three full writes plus the change
    expect(zfsWay).toBeGreaterThan(24);
    expect(zfsWay / copyWay).toBeLessThan(0.6);
    console.log(r.stdout.split("\n").filter((l) => l.startsWith("bytes written")).join("\n"));
  }, 600_000);
});
