/**
 * ssh's runtime folder (backplane-ssh-*: ControlMaster sockets, the pinned known_hosts) is
 * removed however the command ends: normally, on an error, on SIGTERM or SIGINT.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { TerraformStack } from "cdktf";
import { Host } from "../../constructs/index.js";
import { synth, hostProps } from "./helpers/synth.js";
import { backplane, fakeSsh, offline, projectWith, HANG } from "./helpers/cli.js";
import { ROOT } from "./helpers/seed.js";

let doc: Record<string, any>;
beforeAll(() => {
  doc = synth((stack: TerraformStack) => new Host(stack, "prod", hostProps({ address: "192.0.2.10", port: 22 })).dataset("ds", { name: "tank/a" }));
});
const runtime = () => mkdtempSync(join(tmpdir(), "bp-runtime-"));

describe("the CLI removes ssh's runtime folder", () => {
  it("after a plan that succeeded", async () => {
    const rt = runtime();
    const r = await backplane(projectWith(doc), ["plan", "--no-synth"], offline(fakeSsh({ "192.0.2.10": "zfs-2.3-prod-seed" }), rt));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readdirSync(rt)).toEqual([]);
  }, 60_000);

  it("after a command that failed (the host is unreachable)", async () => {
    const rt = runtime();
    const r = await backplane(projectWith(doc), ["facts", "--no-synth"], offline(fakeSsh({}), rt));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("cannot connect");
    expect(readdirSync(rt)).toEqual([]);
  }, 60_000);

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`when killed with ${signal} while a host is being read`, async () => {
      const rt = runtime();
      const fake = fakeSsh({ "192.0.2.10": HANG });
      const dir = projectWith(doc);
      const child = spawn(process.execPath, [join(ROOT, "bin", "backplane.mjs"), "plan", "--no-synth"], { cwd: dir, env: { ...process.env, ...offline(fake, rt) }, stdio: "ignore" });
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once("exit", (code, sig) => r({ code, signal: sig })));
      for (let i = 0; i < 600 && !existsSync(join(fake, "hung-192.0.2.10")); i++) await new Promise((r) => setTimeout(r, 50));
      expect(readdirSync(rt)).toHaveLength(1);
      expect(existsSync(join(dir, "terraform.test.tfstate.lock.json"))).toBe(true);
      child.kill(signal);
      const end = await exited;
      expect(end.code).toBe(signal === "SIGTERM" ? 143 : 130);
      expect(readdirSync(rt)).toEqual([]);
      // the plan's state lock is released, not left stale
      expect(existsSync(join(dir, "terraform.test.tfstate.lock.json"))).toBe(false);
    }, 60_000);
  }
});

describe("the exit cleanup the CLI installs", () => {
  // a tiny program: one SshTransport (its constructor makes the folder; nothing is reached), then the ending under test
  const program = (ending: string) => `
    const { installExitCleanup } = await import(${JSON.stringify(join(ROOT, "provider", "cli", "on-exit.ts"))});
    const { SshTransport, cleanupRuntimeDir } = await import(${JSON.stringify(join(ROOT, "provider", "transport", "ssh.ts"))});
    installExitCleanup({ closeOpen: async () => {}, removeRuntime: cleanupRuntimeDir });
    new SshTransport({ alias: "h", address: "192.0.2.1", port: 22, user: "root", knownHostsFile: "/dev/null", commandPrefix: [], connectTimeout: 5 });
    ${ending}
  `;
  const run = (ending: string, rt: string) => new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program(ending)], { cwd: ROOT, env: { ...process.env, BACKPLANE_RUNTIME_DIR: rt }, stdio: "ignore" });
    child.once("exit", (code) => resolve(code));
  });

  it.each([
    ["a normal end", "", 0],
    ["process.exit", "process.exit(3);", 3],
    ["an uncaught exception", "setTimeout(() => { throw new Error('boom'); }, 10);", 1],
    ["a rejected promise nobody handles", "Promise.reject(new Error('boom'));", 1],
  ])("removes the folder after %s", async (_what, ending, code) => {
    const rt = runtime();
    expect(await run(ending, rt)).toBe(code);
    expect(readdirSync(rt)).toEqual([]);
  }, 30_000);
});
