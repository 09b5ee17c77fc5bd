/**
 * The CLI with one host unreachable (a fake ssh answers for prod and refuses dr): plan and
 * drift print what was read plus the host's error and exit 1; every JSON mode prints one
 * JSON document, also when the run fails before it has a plan; apply refuses.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformStack } from "cdktf";
import { Host } from "../../constructs/index.js";
import { synth, hostProps } from "./helpers/synth.js";
import { backplane, fakeSsh, offline, projectWith } from "./helpers/cli.js";
import { LocalStateBackend } from "../../state/local.js";

let doc: Record<string, any>;
let env: Record<string, string>;
beforeAll(() => {
  // TEST-NET-1 addresses: nothing answers there; the fake ssh answers for prod only
  doc = synth((stack: TerraformStack) => {
    new Host(stack, "prod", hostProps({ address: "192.0.2.10", port: 22 })).dataset("ds", { name: "tank/a" });
    new Host(stack, "dr", hostProps({ address: "192.0.2.11", port: 22 })).dataset("ds", { name: "backup/a" });
  });
  env = offline(fakeSsh({ "192.0.2.10": "zfs-2.3-prod-seed" }), mkdtempSync(join(tmpdir(), "bp-runtime-")));
});

const drAddress = () => Object.keys(doc.resource.backplane_dataset).find((k) => k.startsWith("dr_"))!;

describe("plan and drift with one host unreachable", () => {
  for (const args of [["plan", "--json"], ["plan", "--format", "json"], ["drift", "--format", "json"]]) {
    it(`${args.join(" ")} prints one JSON document: the plan of the host read and the error of the other`, async () => {
      const r = await backplane(projectWith(doc), [...args, "--no-synth"], env);
      expect(r.exitCode, r.stderr).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out.changes.map((c: { id: string; host: string }) => `${c.host} ${c.id}`)).toEqual(["prod tank/a"]);
      expect(out.host_errors).toEqual([{ host: "dr", message: expect.stringContaining("dr: cannot connect over ssh: ssh: connect to host 192.0.2.11 port 22: Connection refused"), not_planned: [`backplane_dataset.${drAddress()}`] }]);
      expect(out.errors).toEqual([]);
    }, 60_000);
  }

  it("plan prints the plan of the host read and a section for the one not read", async () => {
    const r = await backplane(projectWith(doc), ["plan", "--no-synth"], env);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('+ dataset "tank/a"');
    expect(r.stdout).toContain("Error: host dr could not be read: dr: cannot connect over ssh");
    expect(r.stdout).toContain("This plan is incomplete: dr could not be read");
  }, 60_000);

  it("drift (Markdown) lists the host not read and exits 1", async () => {
    const r = await backplane(projectWith(doc), ["drift", "--no-synth"], env);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("**Hosts not read**");
    expect(r.stdout).toContain("`backplane_dataset.prod_ds_resource_");
  }, 60_000);

  it("plan -out saves no plan when a host was not read", async () => {
    const dir = projectWith(doc);
    const r = await backplane(dir, ["plan", "--no-synth", `-out=${join(dir, "p.plan")}`], env);
    expect(r.exitCode).toBe(1);
    expect(existsSync(join(dir, "p.plan"))).toBe(false);
  }, 60_000);
});

describe("every JSON mode prints one JSON document when the run fails before it has a plan", () => {
  for (const args of [["plan", "--json"], ["drift", "--format", "json"]]) {
    it(`${args.join(" ")} with the state locked`, async () => {
      const dir = projectWith(doc);
      const held = await new LocalStateBackend(join(dir, "terraform.test.tfstate")).lock("apply");
      const r = await backplane(dir, [...args, "--no-synth"], env);
      expect(r.exitCode).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out).toEqual({ format_version: "1", stack: null, errors: [{ address: null, host: null, message: expect.stringContaining(`lock ID ${held.id}`) }], host_errors: [] });
      expect(out).not.toHaveProperty("changes");
      expect(r.stderr).toContain("state is locked by");
    }, 60_000);
  }

  it("plan --json with a state file that is not JSON", async () => {
    const dir = projectWith(doc);
    writeFileSync(join(dir, "terraform.test.tfstate"), "{ torn");
    const r = await backplane(dir, ["plan", "--json", "--no-synth", "--stack", "test"], env);
    expect(r.exitCode).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.stack).toBe("test");
    expect(out.errors).toHaveLength(1);
  }, 60_000);
});

describe("apply with one host unreachable", () => {
  it("refuses, naming the host, and writes no state", async () => {
    const dir = projectWith(doc);
    const r = await backplane(dir, ["apply", "--auto-approve", "--no-synth"], env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("the plan has 1 error");
    expect(r.stderr).toContain("dr: could not be read: dr: cannot connect over ssh");
    expect(existsSync(join(dir, "terraform.test.tfstate"))).toBe(false);
  }, 60_000);
});
