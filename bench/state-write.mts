/**
 * The time of one state write of a 1,000-resource state on each backend: the local file
 * (temp + fsync + rename, the previous serial kept as .backup) and PostgreSQL (compare-and-swap
 * UPDATE plus the history row, one transaction, a fresh connection per write as the CLI does;
 * a server on loopback with fsync on). Records are the seed's captured state records, repeated
 * under new names. Runs 15 writes each after 3 warm-ups; prints min/median and the ratio.
 *
 *   npx tsx bench/state-write.mts
 */
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startPostgres } from "../test/lab/pg.js";
import { LocalStateBackend } from "../state/local.js";
import { PgStateBackend } from "../state/pg.js";
import type { State } from "../provider/model/state.js";
import type { StateBackend } from "../state/backend.js";

const here = dirname(fileURLToPath(import.meta.url));
const seed = JSON.parse(readFileSync(join(here, "..", "test", "fixtures", "refresh", "zfs-2.3-prod-seed.state.json"), "utf8")) as State;
const records = Object.values(seed.resources);
const resources: State["resources"] = {};
for (let i = 0; i < 1000; i++) {
  const r = records[i % records.length]!;
  resources[`${r.type}.bench_${i}`] = { ...r, id: `${r.id}-${i}` };
}
const state: State = { ...seed, lineage: "bench", serial: 0, resources };
const bytes = JSON.stringify(state, null, 2).length;

async function measure(b: StateBackend): Promise<number[]> {
  let serial = 0;
  const times: number[] = [];
  for (let i = 0; i < 18; i++) {
    const t0 = process.hrtime.bigint();
    await b.write({ ...state, serial: serial + 1 }, serial === 0 ? null : serial);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    serial++;
    if (i >= 3) times.push(ms);
  }
  return times.sort((a, c) => a - c);
}

const server = await startPostgres({ fsync: true });
try {
  const local = await measure(new LocalStateBackend(join(mkdtempSync(join(tmpdir(), "bp-bench-")), "s.tfstate")));
  const pg = await measure(new PgStateBackend({ connStr: server.url, workspace: "bench" }));
  const med = (t: number[]) => t[Math.floor(t.length / 2)]!;
  console.log(`state of 1000 resources (${(bytes / 1024).toFixed(0)} KiB), one write, 15 runs:`);
  console.log(`  local file:  min ${local[0]!.toFixed(1)} ms, median ${med(local).toFixed(1)} ms`);
  console.log(`  PostgreSQL:  min ${pg[0]!.toFixed(1)} ms, median ${med(pg).toFixed(1)} ms  (ratio ${(med(pg) / med(local)).toFixed(2)}x the local file)`);
} finally {
  await server.stop();
}
