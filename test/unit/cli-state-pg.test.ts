/**
 * The state commands against a real PostgreSQL server (no hosts reached): migrate from the
 * local file keeping lineage and serial, history and old serials, mv after a refactor, pull
 * and push with their refusals, a lock held by another process named with its holder, and a
 * stack that names no connection string refused before anything runs.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { writeFileSync, readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { withHost } from "./helpers/synth.js";
import { backplane, projectWith } from "./helpers/cli.js";
import { startPostgres, type PgServer } from "../lab/pg.js";
import { newState, type State } from "../../provider/model/state.js";
import { PgStateBackend } from "../../state/pg.js";

let server: PgServer;
let doc: Record<string, any>;
beforeAll(async () => {
  server = await startPostgres();
  doc = withHost((h) => h.dataset("ds", { name: "tank/a" }));
}, 60_000);
afterAll(async () => server?.stop());

/** A project whose stack keeps state in PostgreSQL (as cdktf's PgBackend writes it, without the connection string). */
function pgProject(stack: string): string {
  const dir = projectWith(doc, stack);
  const p = join(dir, "cdktf.out", "stacks", stack, "cdk.tf.json");
  const d = JSON.parse(readFileSync(p, "utf8"));
  d.terraform.backend = { pg: { schema_name: "team" } };
  writeFileSync(p, JSON.stringify(d));
  return dir;
}

const STATE: State = { version: 1, lineage: "L-1", serial: 7, resources: {
  "backplane_pool.prod_tank": { type: "backplane_pool", host: "prod", id: "tank", attributes: {} },
  "backplane_dataset.old_name": { type: "backplane_dataset", host: "prod", id: "tank/a", attributes: {}, dependencies: ["backplane_pool.prod_tank"] },
  "backplane_dataset.child": { type: "backplane_dataset", host: "prod", id: "tank/a/b", attributes: {}, dependencies: ["backplane_dataset.old_name"] },
} };

describe("state commands on PostgreSQL", () => {
  it("refuses a pg stack without a connection string, saying how to give one", async () => {
    const r = await backplane(pgProject("nocon"), ["state", "list", "--no-synth"], { PG_CONN_STR: "" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("names no connection string: set PG_CONN_STR");
  }, 60_000);

  it("migrates the local file into PostgreSQL keeping lineage and serial; history, show --serial, mv, pull, push", async () => {
    const env = { PG_CONN_STR: server.url };
    const dir = pgProject("team1");
    writeFileSync(join(dir, "terraform.team1.tfstate"), JSON.stringify(STATE));
    const m = await backplane(dir, ["state", "migrate", "--to", "pg", "--no-synth"], env);
    expect(m.exitCode, m.stderr).toBe(0);
    expect(m.stdout).toContain("lineage L-1, serial 7, 3 resources");
    const again = await backplane(dir, ["state", "migrate", "--to", "pg", "--no-synth"], env);
    expect(again.stdout).toContain("nothing to do");

    const pulled = JSON.parse((await backplane(dir, ["state", "pull", "--no-synth"], env)).stdout);
    expect(pulled).toEqual(STATE);

    const mv = await backplane(dir, ["state", "mv", "backplane_dataset.old_name", "backplane_dataset.new_name", "--no-synth"], env);
    expect(mv.exitCode, mv.stderr).toBe(0);
    const list = await backplane(dir, ["state", "list", "--no-synth"], env);
    expect(list.stdout).toContain("backplane_dataset.new_name\tprod\ttank/a");

    const h = await backplane(dir, ["state", "history", "--json", "--no-synth"], env);
    expect(JSON.parse(h.stdout).map((x: { serial: number; operation: string }) => [x.serial, x.operation])).toEqual([[7, "state migrate"], [8, "state mv"]]);
    const old = JSON.parse((await backplane(dir, ["state", "show", "backplane_dataset.old_name", "--serial", "7", "--no-synth"], env)).stdout);
    expect(old).toMatchObject({ address: "backplane_dataset.old_name", id: "tank/a" });

    mkdirSync(join(dir, "f"), { recursive: true });
    writeFileSync(join(dir, "f", "older.json"), JSON.stringify(STATE));
    const refused = await backplane(dir, ["state", "push", "f/older.json", "--no-synth"], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("the file's serial 7 is not higher than the stored serial 8");
    writeFileSync(join(dir, "f", "foreign.json"), JSON.stringify({ ...newState("FOREIGN"), serial: 50 }));
    expect((await backplane(dir, ["state", "push", "f/foreign.json", "--no-synth"], env)).stderr).toContain("lineage FOREIGN is not the stored state's L-1");
    const forced = await backplane(dir, ["state", "push", "f/foreign.json", "--force", "--no-synth"], env);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(JSON.parse((await backplane(dir, ["state", "pull", "--no-synth"], env)).stdout)).toMatchObject({ lineage: "FOREIGN", serial: 50 });

    // a destination newer than the source is never overwritten (its serial would go back)
    writeFileSync(join(dir, "older.tfstate"), JSON.stringify({ ...STATE, lineage: "FOREIGN", serial: 3 }));
    const backwards = await backplane(dir, ["state", "migrate", "--to", "pg", "--path", "older.tfstate", "--no-synth"], env);
    expect(backwards.exitCode).toBe(1);
    expect(backwards.stderr).toContain("already holds a state (lineage FOREIGN, serial 50); it is not overwritten by lineage FOREIGN serial 3");
    // and back to a local file
    const back = await backplane(dir, ["state", "migrate", "--to", "local", "--path", "back.tfstate", "--no-synth"], env);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "back.tfstate"), "utf8"))).toMatchObject({ lineage: "FOREIGN", serial: 50 });
  }, 120_000);

  it("a command refused by a lock another client holds names the holder", async () => {
    const env = { PG_CONN_STR: server.url };
    const dir = pgProject("team2");
    const holder = new PgStateBackend({ connStr: server.url, schema: "team", workspace: "team2" });
    const l = await holder.lock("apply");
    try {
      const r = await backplane(dir, ["state", "mv", "backplane_dataset.a", "backplane_dataset.b", "--no-synth"], env);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`state is locked by \\S+ \\(pid ${process.pid} on \\S+\\) for 'apply' since \\S+; lock ID ${l.id}`));
    } finally {
      await holder.unlock(l.id);
    }
  }, 60_000);
});
