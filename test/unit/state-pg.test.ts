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
import { PgStateBackend } from "../../state/pg.js";
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
