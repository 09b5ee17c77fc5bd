import pg from "pg";
import { startPostgres } from "./zz-pgcopy.js";
import { PgStateBackend } from "../../state/pg.js";
import { newState } from "../../provider/model/state.js";

const server = await startPostgres();
const sql = async (q: string, url = server.url) => { const c = new pg.Client({ connectionString: url }); await c.connect(); try { return await c.query(q); } finally { await c.end(); } };
const log = (...a: unknown[]) => console.log(...a);
try {
  // A. lock connection dropped mid-apply (server restart/NAT/idle timeout simulated by terminate)
  const A = new PgStateBackend({ connStr: server.url, workspace: "wsA" });
  const B = new PgStateBackend({ connStr: server.url, workspace: "wsA" });
  await A.write({ ...newState("L"), serial: 1 }, null);
  const la = await A.lock("apply");
  await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (SELECT backend_pid FROM terraform_remote_state.backplane_locks WHERE workspace='wsA')`);
  await new Promise((r) => setTimeout(r, 300));
  const lb = await B.lock("apply").then((l) => `B GOT LOCK ${l.id}`, (e) => `B refused: ${e.message}`);
  log("A.", lb);
  const w = await A.write({ ...newState("L"), serial: 2 }, 1).then(() => "A's write (lock lost) SUCCEEDED", (e) => `A write refused: ${e.message}`);
  log("A.", w);
  const u = await A.unlock(la.id).then(() => "A unlock ok", (e) => `A unlock threw ${e.constructor.name}: ${e.message}`);
  log("A.", u);
  log("A. B currentLock", JSON.stringify(await B.currentLock()));

  // B. idle_session_timeout kills the idle lock connection during a long apply
  await sql(`ALTER DATABASE postgres SET idle_session_timeout = '1s'`);
  const C = new PgStateBackend({ connStr: server.url, workspace: "wsC" });
  const D = new PgStateBackend({ connStr: server.url, workspace: "wsC" });
  const lc = await C.lock("apply");
  await new Promise((r) => setTimeout(r, 2500));
  log("B. D lock while C 'holds':", await D.lock("apply").then(() => "D GOT THE LOCK", (e) => `refused ${e.message}`));
  await sql(`ALTER DATABASE postgres RESET idle_session_timeout`);

  // D. history overwritten by force push of a lower serial
  const H = new PgStateBackend({ connStr: server.url, workspace: "wsH" });
  for (let s = 1; s <= 4; s++) await H.write({ ...newState("HL"), serial: s, resources: {}, }, s === 1 ? null : s - 1);
  await H.write({ ...newState("HL"), serial: 2, resources: { "backplane_dataset.x": { type: "backplane_dataset", host: "h", id: "t/x", attributes: {} } } }, 4, { replaceLineage: true });
  await H.write({ ...newState("HL"), serial: 3 }, 2);
  log("D. history", JSON.stringify((await H.history()).map((h) => [h.serial, h.resources, h.operation])));
  const rows = await sql(`SELECT count(*) FROM terraform_remote_state.backplane_state_history WHERE workspace='wsH'`);
  log("D. history rows for 6 writes:", rows.rows[0].count);

  // G. lock key ambiguity
  const g1 = new PgStateBackend({ connStr: server.url, schema: "a:b", workspace: "c" });
  const g2 = new PgStateBackend({ connStr: server.url, schema: "a", workspace: "b:c" });
  const l1 = await g1.lock("apply");
  log("G.", await g2.lock("apply").then(() => "independent", (e) => `schema a / ws b:c refused by schema a:b / ws c: ${e.message.slice(0, 120)}`));
  await g1.unlock(l1.id);
} finally {
  await server.stop();
}
