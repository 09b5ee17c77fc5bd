/**
 * Every command that reads or writes state takes the lock (plan and drift too, as Terraform
 * does), waits for a held one up to -lock-timeout, and -lock=false skips it. The CLI runs for
 * real; a fake ssh answers for the host (helpers/cli.ts).
 */
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformStack } from "cdktf";
import { Host } from "../../constructs/index.js";
import { synth, hostProps } from "./helpers/synth.js";
import { backplane, fakeSsh, offline, projectWith } from "./helpers/cli.js";
import { LocalStateBackend } from "../../state/local.js";

describe("the commands and the lock", () => {
  let doc: Record<string, any>;
  let env: Record<string, string>;
  beforeAll(() => {
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there, and the fake ssh answers instead anyway
    doc = synth((stack: TerraformStack) => new Host(stack, "prod", hostProps({ address: "192.0.2.10", port: 22 })).dataset("ds", { name: "tank/a" }));
    env = offline(fakeSsh({ "192.0.2.10": "zfs-2.3-prod-seed" }), mkdtempSync(join(tmpdir(), "bp-runtime-")));
  });
  const holdLock = async (dir: string) => new LocalStateBackend(join(dir, "terraform.test.tfstate")).lock("apply");

  for (const command of ["plan", "drift"]) {
    it(`${command} takes the lock: refused while another process holds it`, async () => {
      const dir = projectWith(doc);
      const held = await holdLock(dir);
      const r = await backplane(dir, [command, "--no-synth"], env);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^Error: state is locked by .* for 'apply'/m);
      expect(r.stderr).toContain(`lock ID ${held.id}`);
    }, 60_000);
  }

  it("plan releases the lock it took", async () => {
    const dir = projectWith(doc);
    const r = await backplane(dir, ["plan", "--no-synth"], env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await new LocalStateBackend(join(dir, "terraform.test.tfstate")).currentLock()).toBeNull();
  }, 60_000);

  for (const [command, args] of [["plan", ["plan"]], ["drift", ["drift"]], ["apply", ["apply", "--auto-approve"]], ["import", ["import", "backplane_dataset.prod_ds_resource_B3EED9E2", "tank/a"]]] as const) {
    it(`${command} waits for a held lock up to -lock-timeout, then fails naming the holder`, async () => {
      const dir = projectWith(doc);
      const held = await holdLock(dir);
      const r = await backplane(dir, [...args, "--no-synth", "-lock-timeout=700ms"], env);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain("still locked after waiting");
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(r.stderr).toContain(`lock ID ${held.id}`);
    }, 60_000);
  }

  it("plan proceeds once the lock is released while it waits (--lock-timeout VALUE spelling)", async () => {
    const dir = projectWith(doc);
    const b = new LocalStateBackend(join(dir, "terraform.test.tfstate"));
    const held = await b.lock("apply");
    // released only once the command says it waits (however long it took to start)
    const r = await backplane(dir, ["plan", "--no-synth", "--lock-timeout", "20s"], env, {
      onStderr: (text) => { if (text.includes("waiting up to 20s")) void b.unlock(held.id); },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('+ dataset "tank/a"');
    expect(r.stderr).toContain(`state is locked by ${held.who} (pid ${process.pid} on ${held.hostname}) for 'apply'; waiting up to 20s (-lock-timeout)`);
  }, 60_000);

  for (const spelling of ["-lock=false", "--lock=false"]) {
    it(`plan ${spelling} reads without the lock`, async () => {
      const dir = projectWith(doc);
      await holdLock(dir);
      const r = await backplane(dir, ["plan", "--no-synth", spelling], env);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('+ dataset "tank/a"');
    }, 60_000);
  }

  it("a bad -lock-timeout is refused before anything runs, saying how to write one", async () => {
    const dir = projectWith(doc);
    const r = await backplane(dir, ["plan", "--no-synth", "-lock-timeout=5"], env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("-lock-timeout");
    expect(r.stderr).toContain("'5' is not a duration");
    expect(r.stderr).toContain("e.g. 30s");
  }, 60_000);

  it("a -lock value other than true or false is refused", async () => {
    const dir = projectWith(doc);
    const r = await backplane(dir, ["plan", "--no-synth", "-lock=no"], env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("-lock takes true or false");
  }, 60_000);
});
