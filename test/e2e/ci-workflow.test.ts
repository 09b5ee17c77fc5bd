/**
 * The team workflow of examples/ci, run as its workflows run it: the same script
 * (examples/ci/run.sh), step by step, against the lab and a real PostgreSQL. A person applies
 * from a laptop with the state in PostgreSQL; then the CI steps — synth with no secret at all,
 * the deploy key installed from a secret and wired to every host, plan and drift of the named
 * stack from the shared state — find the hosts as applied. Without an inventory, or without a
 * stack or a database, the script stops with a clear message instead of guessing.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backplane, resetHosts, seedWorkingCopy, ROOT } from "./helpers.js";
import { startPostgres, type PgServer } from "../lab/pg.js";
import { readLab } from "../lab/hosts.js";

const RUN = join(ROOT, "examples", "ci", "run.sh");
let server: PgServer;
let home: string;
const laptop = join(ROOT, "test", "e2e", ".work", "ci-laptop");
const runner = join(ROOT, "test", "e2e", ".work", "ci-runner");
let inventory: string;
let deployKey: string;

/** run.sh in the runner's checkout with only the variables a workflow step sets (plus PATH). */
function step(args: string[], env: Record<string, string>) {
  return execa("bash", [RUN, ...args], {
    reject: false, extendEnv: false,
    env: { PATH: process.env.PATH!, HOME: home, NO_COLOR: "1", BACKPLANE_DIR: runner, BACKPLANE_BIN: join(ROOT, "bin", "backplane.mjs"), ...env },
  });
}

describe("examples/ci's workflow steps (vm tier, real PostgreSQL)", () => {
  beforeAll(async () => {
    server = await startPostgres();
    await resetHosts();
    home = await mkdtemp(join(tmpdir(), "bp-ci-home-"));
    // the committed hosts file: addresses and host keys only — no key path, no ssh_config
    const lab = readLab();
    inventory = join(home, "hosts.json");
    await writeFile(inventory, JSON.stringify({ hosts: lab.hosts.map(({ identityFile: _k, sshConfigFile: _c, knownHostsFile: _h, ...h }) => h) }, null, 2));
    deployKey = await readFile(lab.hosts[0]!.identityFile!, "utf8");
    for (const d of [laptop, runner]) await seedWorkingCopy(d);
    // a person applies from a laptop, state in PostgreSQL
    const env = { BACKPLANE_STATE: "pg", PG_CONN_STR: server.url };
    expect((await backplane(laptop, ["synth"], env)).exitCode).toBe(0);
    const a = await backplane(laptop, ["apply", "--stack", "seed", "--no-synth", "--auto-approve"], env);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await server?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("stops without an inventory, a stack or a database, saying which is missing", async () => {
    const noInv = await step(["synth"], {});
    expect(noInv.exitCode).toBe(1);
    expect(noInv.stderr).toContain("run.sh: BACKPLANE_INVENTORY is not set");
    const noStack = await step(["plan"], { BACKPLANE_INVENTORY: inventory, PG_CONN_STR: server.url });
    expect(noStack.stderr).toContain("run.sh: BACKPLANE_STACK is not set");
    const noDb = await step(["drift"], { BACKPLANE_INVENTORY: inventory, BACKPLANE_STACK: "seed" });
    expect(noDb.stderr).toContain("run.sh: PG_CONN_STR is not set");
    // and the examples never fall back to example hosts when no inventory is named
    const bare = await backplane(runner, ["synth"], { BACKPLANE_INVENTORY: "", BACKPLANE_LAB_DIR: join(home, "no-lab") });
    expect(bare.exitCode).toBe(1);
    expect(bare.stdout + bare.stderr).toContain("no inventory: set BACKPLANE_INVENTORY");
  }, 120_000);

  it("synth (no secret), key, plan and drift from the shared state: no changes, no drift", async () => {
    const synth = await step(["synth"], { BACKPLANE_INVENTORY: inventory });
    expect(synth.exitCode, synth.stdout + synth.stderr).toBe(0);
    const doc = JSON.parse(await readFile(join(runner, "cdktf.out", "stacks", "seed", "cdk.tf.json"), "utf8"));
    // every host uses the deploy key's path; the state backend is PostgreSQL without a connection string
    expect(new Set(doc.provider.backplane.map((p: { identity_file: string }) => p.identity_file))).toEqual(new Set([join(home, ".backplane-ci", "deploy_key")]));
    expect(doc.terraform.backend).toEqual({ pg: { conn_str: "", schema_name: "backplane" } });

    const key = await step(["key"], { BACKPLANE_INVENTORY: inventory, BACKPLANE_SSH_KEY: deployKey });
    expect(key.exitCode, key.stderr).toBe(0);
    expect((await execa("stat", ["-c", "%a", join(home, ".backplane-ci", "deploy_key")])).stdout).toBe("600");

    const env = { BACKPLANE_INVENTORY: inventory, BACKPLANE_STACK: "seed", PG_CONN_STR: server.url };
    const plan = await step(["plan", "--no-synth"], env);
    expect(plan.stdout, plan.stderr).toContain("No changes.");
    expect(plan.exitCode).toBe(0);
    const drift = await step(["drift", "--no-synth"], env);
    expect(drift.exitCode, drift.stdout + drift.stderr).toBe(0);
    expect(drift.stdout + drift.stderr).not.toMatch(/belongs to another stack/);
    // the last step, always: no key stays behind
    expect((await step(["cleanup"], { BACKPLANE_INVENTORY: inventory })).exitCode).toBe(0);
    await expect(readFile(join(home, ".backplane-ci", "deploy_key"), "utf8")).rejects.toThrow(/ENOENT/);
  }, 300_000);
});
