/**
 * The CLI's own costs (#17 item 4), each against a peer in the same run:
 *
 * 1. synth of the seed stack (examples/seed): `backplane synth` against running the stack's
 *    app alone (`tsx main.ts`, what any synth must do at least).
 * 2. parse of one refresh of a host with D datasets (default 5,000): an ns-tier host of its own
 *    (--tier vm: the running vm lab's prod, whose pools are destroyed) gets them from `backplane
 *    apply` (timed, once), then its refresh output is captured, never invented, and kept in
 *    /var/tmp/backplane-bench-cli-<tier>-<D>.txt for profiling; backplane's strict parse against
 *    a naive split of lines and tabs.
 * 3. plan of those D datasets end to end (`backplane plan --no-synth`, the packed CLI) against
 *    one cold round trip running the same refresh script plus that parse.
 *
 *   npx tsx bench/cli.mts [--datasets 5000] [--runs 11] [--record] [--keep]
 *   npx tsx bench/cli.mts --tier vm --destroy-lab-pools [...]      (vm lab up)
 */
import { execa } from "execa";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { ROOT, seedWorkingCopy } from "../test/e2e/helpers.js";
import { batchScript, splitSections } from "../provider/engine/batch.js";
import { parseRefresh, refreshItems } from "../provider/engine/live.js";
import { installedCli, machine, measure, median, min, roundTripCounter, timeParses } from "./measure.js";
import { benchHosts, benchLab, benchStack, coldSsh } from "./bench-hosts.js";
import { labDown } from "../test/lab/vm.js";
import { readLab } from "../test/lab/hosts.js";

const { values } = parseArgs({ options: {
  datasets: { type: "string", default: "5000" }, runs: { type: "string", default: "11" },
  record: { type: "boolean", default: false }, keep: { type: "boolean", default: false },
  tier: { type: "string", default: "ns" }, "destroy-lab-pools": { type: "boolean", default: false },
} });
const tier = values.tier as "ns" | "vm";
if (tier !== "ns" && tier !== "vm") throw new Error("--tier is ns or vm");
if (tier === "vm" && !values["destroy-lab-pools"]) throw new Error("--tier vm destroys every pool on the running lab's prod: say so with --destroy-lab-pools (and run nothing else on the lab meanwhile)");
const runs = Number(values.runs);
const D = Number(values.datasets);
const lab = tier === "ns" ? "/var/tmp/backplane-bench-cli" : (process.env.BACKPLANE_LAB_DIR ?? "/var/tmp/backplane-lab");
const env = { ...process.env, BACKPLANE_INVENTORY: join(lab, "hosts.json"), NO_COLOR: "1" };
const work = mkdtempSync(join(tmpdir(), "bp-bench-cli-"));
const cli = installedCli(ROOT, work);
const fmt = (xs: number[], unit = "ms") => `${min(xs).toFixed(unit === "ms" ? 0 : 2)} / ${median(xs).toFixed(unit === "ms" ? 0 : 2)} ${unit}`;

async function wall(file: string, args: string[], cwd: string): Promise<number> {
  const t0 = performance.now();
  const r = await execa(file, args, { cwd, env, reject: false });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
  return performance.now() - t0;
}

// an ns lab of two hosts (a stack's inventory names prod and dr; the seed's synth reads it), or the vm lab
const { hosts: [prod] } = tier === "ns" ? await benchLab(lab, 2, Math.max(256, Math.ceil(D / 1000) * 256)) : readLab(join(lab, "hosts.json"));

try {
  // 1. synth of the seed stack, against its app alone
  // inside the checkout, as the e2e tests keep it: the seed's app is `npx tsx main.ts`
  const seed = join(ROOT, "test", "e2e", ".work", "bench-seed");
  await seedWorkingCopy(seed);
  const appCommand = (JSON.parse(readFileSync(join(seed, "cdktf.json"), "utf8")) as { app: string }).app;
  const synth: number[] = [], app: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const s = await wall(cli, ["synth"], seed);
    const a = await wall("sh", ["-c", appCommand], seed);
    if (i > 0) { synth.push(s); app.push(a); }
  }

  // 2. parse of a captured refresh of a host with D datasets (the inventory of a stack names prod and dr)
  const { reset, verify, sshConfig, onHost } = benchHosts(lab);
  await reset([prod!]);
  const project = await benchStack([prod!], D, `bench-cli-1x${D}`);
  const applied = await wall(cli, ["apply", "--auto-approve"], project);
  await verify([prod!], D, "backplane");
  console.log(`apply of ${D} datasets on prod: ${(applied / 1000).toFixed(1)} s`);
  const nonce = randomBytes(8).toString("hex");
  const script = batchScript(refreshItems([]), nonce, { timed: false });
  const captured = await execa("ssh", ["-F", sshConfig, "prod", "sh", "-s"], { input: script, maxBuffer: 1 << 30 });
  const raw = captured.stdout;
  const live = parseRefresh("prod", splitSections(raw, nonce), []);
  if (live.datasets.size !== D + 1) throw new Error(`the refresh of prod read ${live.datasets.size} datasets, not ${D} and the pool`);
  writeFileSync(`/var/tmp/backplane-bench-cli-${tier}-${D}.txt`, raw);
  writeFileSync(`/var/tmp/backplane-bench-cli-${tier}-${D}.nonce`, nonce);
  const { strict: parse, naive: naiveParse } = timeParses(raw, nonce, runs);

  // 3. plan of the D datasets end to end, against one cold round trip of the same script + the parse
  const scriptFile = join(work, "refresh.sh");
  writeFileSync(scriptFile, script);
  const counter = roundTripCounter(join(work, "bin"));
  const plan: number[] = [], floor: number[] = [], planCpu: number[] = [], planRss: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const m = await measure(counter, join(work, "m"), cli, ["plan", "--no-synth"], { cwd: project, env });
    if (m.exitCode !== 0 || m.roundTrips !== 1) throw new Error(`plan: exit ${m.exitCode}, ${m.roundTrips} round trips\n${m.stdout}\n${m.stderr}`);
    const p = m.wall * 1000;
    if (i > 0) { planCpu.push(m.controllerCpu); planRss.push(m.maxRssMiB); }
    const f = await wall("sh", ["-c", `ssh ${coldSsh(sshConfig)} prod sh -s < ${scriptFile} > /dev/null`], work);
    if (i > 0) { plan.push(p); floor.push(f); }
  }
  const bound = median(floor) + median(parse);

  const table = [
    `## The CLI's own costs (\`npx tsx bench/cli.mts${tier === "vm" ? " --tier vm --destroy-lab-pools" : ""} --datasets ${D} --runs ${runs}\`), ${new Date().toISOString().slice(0, 10)}`,
    "",
    `${await machine()}; the packed CLI (bundled dist/cli.mjs); ${tier === "ns" ? "an ns-tier host (zfs-fuse 0.7)" : `a vm-tier guest (qemu TCG, ${(await onHost(prod!, "zfs version | head -1")).trim()})`} holding the ${D} datasets; min / median of ${runs} runs after a warm-up, interleaved with the peer.`,
    "",
    "| what | backplane | peer | peer is | ratio |",
    "|---|---|---|---|---|",
    `| synth of the seed stack | ${fmt(synth)} | ${fmt(app)} | the stack's app alone (\`${appCommand}\`, cdktf.json's app) | ${(median(synth) / median(app)).toFixed(2)}x |`,
    `| parse of one refresh, ${live.datasets.size} datasets (${(raw.length / 2 ** 20).toFixed(1)} MiB, ${raw.split("\n").length} lines, captured from ${tier} host prod) | ${fmt(parse)} | ${fmt(naiveParse)} | a naive split into maps, no checks | ${(median(parse) / median(naiveParse)).toFixed(2)}x |`,
    `| plan of ${live.datasets.size} datasets, one host, \`plan --no-synth\` | ${fmt(plan)} | ${median(floor).toFixed(0)} + ${median(parse).toFixed(0)} = ${bound.toFixed(0)} ms | one cold \`ssh prod sh -s\` of the same refresh script + the parse above | ${(median(plan) / bound).toFixed(2)}x |`,
    "",
    `The plan of ${live.datasets.size} datasets: one SSH round trip; the CLI's CPU ${median(planCpu).toFixed(2)} s (user + system, median), peak memory ${median(planRss).toFixed(0)} MiB.`,
    "",
  ].join("\n");
  console.log(table);
  if (values.record) appendFileSync(join(ROOT, "bench", "RESULTS.md"), `\n${table}`);
} finally {
  rmSync(work, { recursive: true, force: true });
  if (tier === "ns" && !values.keep) await labDown((l) => console.log(l), lab);
}
