/**
 * Shared state in PostgreSQL, as a team uses it: the seed stack synthesized with its
 * PgBackend (BACKPLANE_STATE=pg), two working copies ("two laptops") applying it at once
 * against the lab — exactly one applies, the other is refused naming the holder — then a plan
 * from each shows no changes, and the history shows who wrote which serial. The server is
 * Debian's PostgreSQL, started by the test on loopback in a temporary directory.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { backplane, resetHosts, seedWorkingCopy, ROOT } from "./helpers.js";
import { startPostgres, type PgServer } from "../lab/pg.js";

let server: PgServer;
const work = join(ROOT, "test", "e2e", ".work", "pg-state");
const laptops = [join(work, "a"), join(work, "b")];

describe("PostgreSQL state shared by two working copies (vm tier)", () => {
  beforeAll(async () => {
    server = await startPostgres();
    await resetHosts();
    for (const d of laptops) {
      await seedWorkingCopy(d);
      const s = await backplane(d, ["synth"], { BACKPLANE_STATE: "pg" });
      expect(s.exitCode, s.stdout + s.stderr).toBe(0);
    }
    // the password-free connection string never entered the synthesized stack
    const synthesized = JSON.parse(await readFile(join(laptops[0]!, "cdktf.out", "stacks", "seed", "cdk.tf.json"), "utf8"));
    expect(synthesized.terraform.backend).toEqual({ pg: { conn_str: "", schema_name: "backplane" } });
  }, 300_000);
  afterAll(async () => server?.stop());

  it("two applies at once: one applies, the other is refused with the holder's details; then both plan no changes", async () => {
    const env = { PG_CONN_STR: server.url };
    const [a, b] = await Promise.all(laptops.map((d) => backplane(d, ["apply", "--stack", "seed", "--no-synth", "--auto-approve"], env)));
    const results = [a!, b!];
    const won = results.filter((r) => r.exitCode === 0);
    const refused = results.filter((r) => r.exitCode !== 0);
    expect(won, results.map((r) => r.stdout + r.stderr).join("\n---\n")).toHaveLength(1);
    expect(won[0]!.stdout).toMatch(/Apply complete! Resources: \d+ added/);
    expect(refused[0]!.exitCode).toBe(1);
    expect(refused[0]!.stderr).toMatch(/state is locked by \S+ \(pid \d+ on \S+\) for 'apply' since \S+; lock ID [0-9a-f-]{36}\. If that process is gone, run: backplane force-unlock [0-9a-f-]{36}/);
    // the refused one changed nothing: the winner's serial is the last one written
    for (const d of laptops) {
      const p = await backplane(d, ["plan", "--stack", "seed", "--no-synth", "--detailed-exitcode"], env);
      expect(p.stdout, p.stderr).toContain("No changes.");
      expect(p.exitCode).toBe(0);
    }
    const h = JSON.parse((await backplane(laptops[1]!, ["state", "history", "--stack", "seed", "--no-synth", "--json"], env)).stdout) as { serial: number; operation: string }[];
    expect(h.length).toBeGreaterThan(1);
    expect(new Set(h.map((x) => x.operation))).toEqual(new Set(["apply"]));
    // plans wrote nothing: the serials are the apply's
    expect(h.map((x) => x.serial)).toEqual(h.map((_, i) => i + 1));
  }, 600_000);
});
