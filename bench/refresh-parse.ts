/**
 * Benchmark: parsing one refresh round trip of a host with 200 datasets (output captured
 * from a vm-tier host: test/fixtures/refresh/zfs-2.3-200-datasets.txt).
 *
 * Peer, in the same script: a naive parser that only splits lines and tabs into maps (no
 * column counts, no duplicate or source checks). The ratio says what strictness costs.
 * With a running lab (`npm run lab -- up`), it also times a real refresh of `dr` against the
 * peer `ssh dr true` over the same ControlMaster connection: what the batch costs beyond
 * the bare round trip.
 *
 *   npx tsx bench/refresh-parse.ts
 */
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { splitSections } from "../provider/engine/batch.js";
import { parseRefresh, refreshHost } from "../provider/engine/live.js";
import { argv } from "../provider/model/argv.js";
import { SshTransport } from "../provider/transport/ssh.js";
import { readLab } from "../test/lab/hosts.js";
import { naiveSplit } from "./measure.js";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fx = join(root, "test", "fixtures", "refresh");
const nonce = readFileSync(join(fx, "zfs-2.3-200-datasets.nonce"), "utf8").trim();
const raw = readFileSync(join(fx, "zfs-2.3-200-datasets.txt"), "utf8");


function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => unknown, runs: number): number {
  for (let i = 0; i < 20; i++) fn(); // warm up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const ours = time(() => parseRefresh("dr", splitSections(raw, nonce), []), 200);
const peer = time(() => naiveSplit(raw), 200);
const lines = raw.split("\n").length;
console.log(`parse: 200 datasets, ${lines} lines, ${(raw.length / 1024).toFixed(0)} KiB`);
console.log(`  backplane strict parse (median of 200): ${ours.toFixed(2)} ms`);
console.log(`  peer naive split       (median of 200): ${peer.toFixed(2)} ms`);
console.log(`  ratio strict/naive: ${(ours / peer).toFixed(2)}x`);

// What a plan keeps of each host: its parsed live state stays until the plan is rendered, so a
// fleet's memory is this times its datasets. 100 parses kept, the heap measured after full GCs,
// each of its own copy of the text (a substring the parse keeps can hold its host's whole text).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const kept: unknown[] = [];
gc();
const heapBefore = process.memoryUsage().heapUsed;
let datasets = 0;
for (let i = 0; i < 100; i++) {
  const live = parseRefresh("dr", splitSections(Buffer.from(raw, "utf8").toString("utf8"), nonce), []);
  datasets = live.datasets.size;
  kept.push(live);
}
gc();
const perHost = (process.memoryUsage().heapUsed - heapBefore) / kept.length;
console.log(`memory: a parsed host of ${datasets} datasets keeps ${(perHost / 1024).toFixed(0)} KiB of heap (${(perHost / datasets / 1024).toFixed(1)} KiB a dataset; 100 kept, after GC)`);

let lab: ReturnType<typeof readLab> | null = null;
try {
  lab = readLab();
} catch {
  console.log("round trip: no lab running; start one with npm run lab -- up to measure it");
}
if (lab) {
  const h = lab.hosts.find((x) => x.name === "dr") ?? lab.hosts[0]!;
  const t = new SshTransport({ alias: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.hostKey, commandPrefix: [], connectTimeout: 15 });
  await t.run(argv("true")); // open the ControlMaster connection
  const a: number[] = [], b: number[] = [];
  let datasets = 0;
  for (let i = 0; i < 5; i++) {
    let t0 = performance.now();
    await t.run(argv("true"));
    b.push(performance.now() - t0);
    t0 = performance.now();
    const live = await refreshHost(t, []);
    a.push(performance.now() - t0);
    datasets = live.datasets.size;
  }
  console.log(`round trip on ${h.name} (${lab.tier} tier, ${datasets} datasets):`);
  console.log(`  backplane refresh (one round trip, median of 5): ${median(a).toFixed(0)} ms`);
  console.log(`  peer ssh true     (median of 5):                 ${median(b).toFixed(0)} ms`);
  console.log(`  ratio refresh/bare round trip: ${(median(a) / median(b)).toFixed(1)}x`);
  await t.close();
}
