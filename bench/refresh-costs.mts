/**
 * Two costs of a refresh that #17 asked to measure and keep only if they pay, on a running lab
 * (`npx tsx test/lab/cli.ts up`), against host `prod` (vm tier):
 *
 * 1. Per-section timings: the refresh script with a `date` before and after every section
 *    (what apply's batches keep, to log how long a command ran) vs without (what a refresh now
 *    sends). Both run over one warm ControlMaster connection, interleaved; the floor is
 *    `ssh prod true` over the same connection.
 * 2. ControlMaster for a one-shot command: a fresh `ssh prod true` that sets up a master
 *    (ControlMaster=auto, ControlPersist, as backplane's transport does) vs one without
 *    (ControlMaster=no), each from nothing (the master of the previous run stopped).
 *
 *   npx tsx bench/refresh-costs.mts [--runs N]
 */
import { execa } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { batchScript, splitSections } from "../provider/engine/batch.js";
import { refreshItems } from "../provider/engine/live.js";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 11);
const config = "/var/tmp/backplane-lab/ssh_config";
const host = "prod";
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const min = (xs: number[]) => Math.min(...xs);
const fmt = (xs: number[]) => `min ${min(xs).toFixed(0)} ms, median ${med(xs).toFixed(0)} ms`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// 1. the refresh script with and without per-section timings, over one warm master
const items = refreshItems([], { replication: true, health: false, timers: true });
const warm = ["-F", config, host];
await execa("ssh", [...warm, "true"]);
const withDates: number[] = [], without: number[] = [], floor: number[] = [];
let sections = 0;
for (let i = 0; i < runs + 2; i++) {
  const nonce = randomBytes(8).toString("hex");
  const a = await timed(async () => {
    const r = await execa("ssh", [...warm, "sh", "-s"], { input: batchScript(items, nonce) });
    sections = splitSections(r.stdout, nonce).size;
  });
  const b = await timed(() => execa("ssh", [...warm, "sh", "-s"], { input: batchScript(items, nonce, { timed: false }) }));
  const c = await timed(() => execa("ssh", [...warm, "true"]));
  if (i >= 2) { withDates.push(a); without.push(b); floor.push(c); }
}
console.log(`refresh of ${host} (${sections} sections), ${runs} runs each after 2 warm-ups, one warm ControlMaster connection:`);
console.log(`  with a date before and after each section: ${fmt(withDates)}`);
console.log(`  without (what a refresh sends now):        ${fmt(without)}  (${(med(without) / med(withDates)).toFixed(2)}x)`);
console.log(`  floor, ssh ${host} true:                     ${fmt(floor)}`);

// 2. a one-shot command from nothing: with a master set up, or without one
const dir = mkdtempSync(join(tmpdir(), "bp-bench-cm-"));
const fresh = (master: boolean) => ["-F", config, "-o", `ControlPath=${join(dir, "cm-%C")}`, "-o", master ? "ControlMaster=auto" : "ControlMaster=no", "-o", "ControlPersist=120", host];
const withMaster: number[] = [], noMaster: number[] = [];
try {
  for (let i = 0; i < runs + 1; i++) {
    const a = await timed(() => execa("ssh", [...fresh(true), "true"]));
    await execa("ssh", [...fresh(true), "-O", "exit"], { reject: false });
    const b = await timed(() => execa("ssh", [...fresh(false), "true"]));
    if (i >= 1) { withMaster.push(a); noMaster.push(b); }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`one-shot ssh ${host} true from nothing, ${runs} runs each after a warm-up:`);
console.log(`  setting up a ControlMaster (backplane's transport): ${fmt(withMaster)}`);
console.log(`  ControlMaster=no:                                   ${fmt(noMaster)}  (${(med(noMaster) / med(withMaster)).toFixed(2)}x)`);
