/**
 * The state backends' conformance suite on a real PostgreSQL server (Debian's postgresql,
 * started for this file in a temporary directory on loopback), and what only it does: the
 * history of every serial, old serials, a schema per set of workspaces, a connection string
 * that never appears in an error.
 */
import { beforeAll, afterAll, describe, it, expect } from "vitest";
import { randomUUID } from "node:crypto";
import { startPostgres, type PgServer } from "../lab/pg.js";
import { conformance } from "./helpers/state-conformance.js";
import { PgStateBackend, StateLockLostError } from "../../state/pg.js";
import pg from "pg";

/** A statement as the server's superuser (what an administrator or a failure would do). */
async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function waitFor<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
import { newState } from "../../provider/model/state.js";

let server: PgServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

// every case its own workspace in one schema (as stacks share a database), and one case its own schema
conformance("PostgreSQL", () => ({ kind: "pg", url: server.url, schema: "terraform_remote_state", workspace: `w-${randomUUID()}` }), () => {
  it("records every serial written with who and which operation, and shows an old serial", async () => {
    const b = new PgStateBackend({ connStr: server.url, workspace: `h-${randomUUID()}` });
    const l = await b.lock("apply");
    for (let serial = 1; serial <= 3; serial++) await b.write({ ...newState("hist"), serial, resources: serial === 3 ? { "backplane_dataset.a": { type: "backplane_dataset", host: "prod", id: "tank/a", attributes: {} } } : {} }, serial === 1 ? null : serial - 1);
    await b.unlock(l.id);
    const h = await b.history();
    expect(h.map((x) => [x.serial, x.operation, x.resources])).toEqual([[1, "apply", 0], [2, "apply", 0], [3, "apply", 1]]);
    expect(h[0]!.who).toMatch(/@/);
    expect(await b.readSerial(2)).toMatchObject({ lineage: "hist", serial: 2, resources: {} });
    expect(await b.readSerial(9)).toBeNull();
  });

  it("a lock lost mid-command (its session ended) stops the next write, and the next client gets the lock", async () => {
    const ws = `lost-${randomUUID()}`;
    const a = new PgStateBackend({ connStr: server.url, workspace: ws });
    const l = await a.lock("apply");
    await a.write({ ...newState("L"), serial: 1 }, null);
    // as a server restart, a dropped link or a force-unlock would: the holder's session ends
    await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'backplane' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = hashtext('${ws}')::oid)`);
    const b = new PgStateBackend({ connStr: server.url, workspace: ws });
    const lb = await waitFor(() => b.lock("apply"));
    const e = await a.write({ ...newState("L"), serial: 2 }, 1).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StateLockLostError);
    expect((e as Error).message).toMatch(/^the state lock \S+ was lost .*nothing more is written/);
    expect(await b.read()).toMatchObject({ serial: 1 });
    await expect(a.unlock(l.id)).rejects.toBeInstanceOf(StateLockLostError);
    await b.unlock(lb.id);
  });

  it("force-unlock from another client ends the holder's session: the holder cannot write any more, the lock is free", async () => {
    const ws = `force-${randomUUID()}`;
    const holder = new PgStateBackend({ connStr: server.url, workspace: ws });
    const l = await holder.lock("apply");
    const other = new PgStateBackend({ connStr: server.url, workspace: ws });
    await expect(other.forceUnlock("wrong")).rejects.toThrow(/does not match the lock held/);
    await other.forceUnlock(l.id);
    expect(await other.currentLock()).toBeNull();
    await expect(holder.write({ ...newState("L"), serial: 1 }, null)).rejects.toBeInstanceOf(StateLockLostError);
    const again = await other.lock("plan");
    await other.unlock(again.id);
    await expect(other.forceUnlock("anything")).rejects.toThrow(/not locked/);
  });

  it("never overwrites history: a forced push of an older serial is a new row, and old serials stay readable", async () => {
    const b = new PgStateBackend({ connStr: server.url, workspace: `hist2-${randomUUID()}` });
    for (let serial = 1; serial <= 4; serial++) await b.write({ ...newState("H"), serial }, serial === 1 ? null : serial - 1);
    await b.write({ ...newState("H"), serial: 2, resources: { "backplane_pool.p": { type: "backplane_pool", host: "prod", id: "p", attributes: {} } } }, 4, { replaceLineage: true });
    await b.write({ ...newState("H"), serial: 3 }, 2);
    expect((await b.history()).map((x) => [x.serial, x.resources])).toEqual([[1, 0], [2, 0], [3, 0], [4, 0], [2, 1], [3, 0]]);
    expect(await b.readSerial(2)).toMatchObject({ resources: { "backplane_pool.p": {} } });
  });

  it("keeps apart two states whose schema and workspace would join into the same text", async () => {
    const a = new PgStateBackend({ connStr: server.url, schema: "a:b", workspace: "c" });
    const b = new PgStateBackend({ connStr: server.url, schema: "a", workspace: "b:c" });
    const la = await a.lock("apply");
    const lb = await b.lock("apply");
    await a.unlock(la.id);
    await b.unlock(lb.id);
  });

  it("works for a team role that may read and write the tables but create nothing", async () => {
    const owner = new PgStateBackend({ connStr: server.url, schema: "granted", workspace: "w" });
    await owner.read(); // creates the tables, as an administrator would once
    await sql("CREATE ROLE team LOGIN; GRANT USAGE ON SCHEMA granted TO team; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA granted TO team; GRANT USAGE ON ALL SEQUENCES IN SCHEMA granted TO team; REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE CREATE ON DATABASE postgres FROM PUBLIC");
    const team = new PgStateBackend({ connStr: server.url.replace("postgres@", "team@"), schema: "granted", workspace: "w" });
    const l = await team.lock("apply");
    await team.write({ ...newState("T"), serial: 1 }, null);
    await team.unlock(l.id);
    expect((await team.history()).map((x) => x.operation)).toEqual(["apply"]);
  });

  it("keeps workspaces and schemas apart", async () => {
    const ws = `s-${randomUUID()}`;
    const a = new PgStateBackend({ connStr: server.url, workspace: ws });
    const other = new PgStateBackend({ connStr: server.url, workspace: ws, schema: "team_b" });
    await a.write({ ...newState("a"), serial: 1 }, null);
    expect(await other.read()).toBeNull();
    const l = await a.lock("apply");
    const l2 = await other.lock("apply");
    await a.unlock(l.id);
    await other.unlock(l2.id);
  });

  it("never shows the connection string (its password) in an error", async () => {
    const b = new PgStateBackend({ connStr: `postgres://postgres:s3cret-pw@127.0.0.1:${server.port}/no_such_db`, workspace: "x" });
    const e = await b.read().catch((x: unknown) => x as Error);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/^PostgreSQL state: .*no_such_db/);
    expect((e as Error).message).not.toContain("s3cret-pw");
  });
});
