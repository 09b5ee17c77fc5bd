/**
 * Plan and apply at scale (#17 items 1 and 2): H hosts × D datasets, backplane against Ansible
 * (`ansible-playbook` with community.general.zfs, from Debian's `ansible` package) and against the
 * physical floor, on the same hosts in the same run.
 *
 * Per cell (H, D), hosts reset to empty disks between the two applies:
 *   apply:  Ansible creates the pool and D datasets with three properties on each host; then
 *           the hosts are reset and `backplane apply` creates the same.
 *   plan:   on what backplane made, interleaved --runs times after one warm-up:
 *           `backplane plan` (synth + refresh + plan), `backplane plan --no-synth`,
 *           `ansible-playbook --check` of the same playbook, and two floors from cold
 *           connections, one `ssh` per host in parallel: `true`, and `sh -s` running the
 *           refresh script backplane sends.
 * Every command starts from cold SSH connections (backplane closes its masters; Ansible gets a
 * fresh ControlPath directory per run). Ansible runs as an operator would tune it: pipelining
 * on, facts off, forks = backplane's default parallelism (10). Round trips are counted by
 * wrappers around ssh/scp/sftp (bench/measure.ts); CPU is the controller's (GNU time) and the
 * machine's (/proc/stat): on the ns tier the hosts share this machine, so the difference is the
 * hosts' own work.
 *
 * An Ansible run predicted (from its per-item cost so far) to exceed --ansible-budget seconds is
 * not run, and the table says so.
 *
 *   npx tsx bench/scale.mts --tier ns --hosts 1,5,20 --datasets 10,100,500 [--runs 3] [--record]
 *   npx tsx bench/scale.mts --tier vm --hosts 2 --datasets 100          (vm lab up, hosts ≥ 2)
 */
import { execa } from "execa";
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { nsUp } from "../test/lab/ns.js";
import { labDown } from "../test/lab/vm.js";
import { readLab, type LabHost } from "../test/lab/hosts.js";
import { ROOT } from "../test/e2e/helpers.js";
import { ANSIBLE_PROPS, benchHosts, benchStack, coldSsh, poolOf, refreshScript } from "./bench-hosts.js";
import { installedCli, machine, measure, median, minMedian, ratio, roundTripCounter, type Measured } from "./measure.js";

const { values } = parseArgs({
  options: {
    tier: { type: "string", default: "ns" },
    hosts: { type: "string", default: "1,5,20" },
    datasets: { type: "string", default: "10,100,500" },
    runs: { type: "string", default: "3" },
    "ansible-budget": { type: "string", default: "300" },
    record: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    // the vm tier's hosts are the shared lab: every pool on them is destroyed between runs
    "destroy-lab-pools": { type: "boolean", default: false },
  },
});
const tier = values.tier as "ns" | "vm";
const HS = values.hosts!.split(",").map(Number);
const DS = values.datasets!.split(",").map(Number);
const runs = Number(values.runs);
const budget = Number(values["ansible-budget"]);
const FORKS = 10; // backplane's default -parallelism (provider/engine/project.ts)

const log = (l: string) => console.log(l);
const labDir = tier === "ns" ? "/var/tmp/backplane-bench-ns" : (process.env.BACKPLANE_LAB_DIR ?? "/var/tmp/backplane-lab");
const work = mkdtempSync(join(tmpdir(), "bp-bench-scale-"));
const counter = roundTripCounter(join(work, "bin"));
// the packed CLI (compiled JavaScript), as operators run it; the stacks' synth runs their main.ts with tsx
const cli = installedCli(ROOT, work);

await execa("bash", [join(ROOT, "test", "lab", "install-deps.sh"), "--bench"], { stdio: "inherit" });
if (tier === "ns") {
  await execa("bash", [join(ROOT, "test", "lab", "install-deps.sh"), "--ns"], { stdio: "inherit" });
  // two at least: a stack's inventory names prod and dr (test/e2e/helpers.ts project())
  await nsUp({ hosts: Math.max(2, ...HS), dir: labDir, log });
} else if (!values["destroy-lab-pools"]) {
  throw new Error("--tier vm destroys every pool on the running lab's hosts between runs: say so with --destroy-lab-pools (and run nothing else on the lab meanwhile)");
}
const lab = readLab(join(labDir, "hosts.json"));
if (lab.hosts.length < Math.max(...HS)) throw new Error(`the ${tier} lab in ${labDir} has ${lab.hosts.length} hosts, the benchmark needs ${Math.max(...HS)}`);
const env = { BACKPLANE_INVENTORY: join(labDir, "hosts.json"), NO_COLOR: "1" };
const { onHost, reset, verify, sshConfig } = benchHosts(labDir);
const stack = (hosts: LabHost[], d: number) => benchStack(hosts, d);

/** The playbook an operator would write for the same: the pool if missing, then the datasets. */
function ansibleFiles(hosts: LabHost[], d: number): { inventory: string; playbook: string; hosts: number } {
  const dir = join(work, `ansible-${hosts.length}x${d}`);
  const inventory = join(dir, "inventory.ini");
  const playbook = join(dir, "datasets.yml");
  mkdirSync(dir, { recursive: true });
  writeFileSync(inventory, [
    "[bench]",
    ...hosts.map((h) => `${h.name} pool=${poolOf(h)} disk=${h.disks[0]}`),
    "[bench:vars]",
    `ansible_ssh_common_args=-F ${sshConfig}`,
    "ansible_python_interpreter=/usr/bin/python3",
    "",
  ].join("\n"));
  writeFileSync(playbook, `- hosts: bench
  gather_facts: false
  tasks:
    - name: is the pool there
      ansible.builtin.command: zpool list -H -o name {{ pool }}
      register: pool_there
      failed_when: false
      changed_when: false
      check_mode: false
    - name: pool
      ansible.builtin.command: zpool create -O mountpoint=none {{ pool }} {{ disk }}
      when: pool_there.rc != 0
    - name: datasets
      community.general.zfs:
        name: "{{ pool }}/d{{ item }}"
        state: present
        extra_zfs_properties: ${JSON.stringify(ANSIBLE_PROPS)}
      loop: "{{ range(${d}) | list }}"
`);
  return { inventory, playbook, hosts: hosts.length };
}

let runNo = 0;
async function ansible(files: { inventory: string; playbook: string; hosts: number }, check: boolean): Promise<Measured> {
  const cp = join(work, `cp-${++runNo}`);
  mkdirSync(cp);
  const m = await measure(counter, join(work, "m"), "ansible-playbook", ["-i", files.inventory, files.playbook, ...(check ? ["--check"] : [])], {
    env: {
      ANSIBLE_PIPELINING: "True", ANSIBLE_FORKS: String(FORKS), ANSIBLE_HOST_KEY_CHECKING: "True", ANSIBLE_SSH_CONTROL_PATH_DIR: cp,
      ANSIBLE_NOCOLOR: "1", ANSIBLE_RETRY_FILES_ENABLED: "False", ANSIBLE_LOCAL_TEMP: join(work, "ansible-tmp"),
    },
  });
  if (m.exitCode !== 0) throw new Error(`ansible-playbook ${check ? "--check " : ""}failed (${m.exitCode}):\n${m.stdout.slice(-3000)}\n${m.stderr.slice(-2000)}`);
  const recap = m.stdout.slice(m.stdout.lastIndexOf("PLAY RECAP"));
  const hostLines = recap.split("\n").filter((l) => /\bok=\d+/.test(l));
  if (hostLines.length !== files.hosts) throw new Error(`ansible: ${hostLines.length} hosts in the recap, expected ${files.hosts}:\n${recap}`);
  if (check && hostLines.some((l) => !/\bchanged=0\b/.test(l))) throw new Error(`ansible --check found changes:\n${recap}`);
  if (/failed=[1-9]|unreachable=[1-9]/.test(recap)) throw new Error(`ansible: ${recap}`);
  // its masters persist 60 s; stop them so the next command starts as cold as this one did
  await execa("sh", ["-c", `for s in ${cp}/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1; done; true`]);
  return m;
}

async function bp(dir: string, args: string[]): Promise<Measured> {
  return measure(counter, join(work, "m"), cli, args, { cwd: dir, env });
}

async function floor(hosts: LabHost[], script?: string): Promise<Measured> {
  const cold = coldSsh(sshConfig);
  const body = script
    ? hosts.map((h) => `ssh ${cold} ${h.name} sh -s < ${script} > /dev/null & pids="$pids $!"`).join("\n")
    : hosts.map((h) => `ssh ${cold} ${h.name} true & pids="$pids $!"`).join("\n");
  // every ssh's own exit status: a bare `wait` says 0 whatever they said
  const m = await measure(counter, join(work, "m"), "sh", ["-c", `pids=\n${body}\nrc=0; for p in $pids; do wait "$p" || rc=1; done; exit $rc`]);
  if (m.exitCode !== 0) throw new Error(`floor: ${m.stderr}`);
  return m;
}

interface Cell {
  h: number; d: number;
  bpApply: Measured[]; ansibleApply: Measured[] | string;
  plan: Measured[]; planNoSynth: Measured[]; check: Measured[] | string; floorTrue: Measured[]; floorScript: Measured[];
}
const cells: Cell[] = [];
/**
 * Ansible's wall seconds per (host × dataset) item, from its last apply: linear in H × D, since
 * every host's module runs share this machine's two cores (ns namespaces and TCG guests alike).
 */
let ansiblePerItem: number | null = null;
const predictAnsible = (h: number, d: number) => (ansiblePerItem === null ? 0 : ansiblePerItem * h * d);

const refreshScriptFile = join(work, "refresh.sh");
writeFileSync(refreshScriptFile, refreshScript());

for (const d of DS) {
  for (const h of HS) {
    const hosts = lab.hosts.slice(0, h);
    log(`\n── ${h} host(s) × ${d} datasets ──`);
    const files = ansibleFiles(hosts, d);
    const cell: Cell = { h, d, bpApply: [], ansibleApply: [], plan: [], planNoSynth: [], check: [], floorTrue: [], floorScript: [] };

    const predicted = predictAnsible(h, d);
    if (predicted > budget) {
      cell.ansibleApply = cell.check = `not run (predicted ≈${Math.round(predicted)} s > budget ${budget} s)`;
      log(`ansible: ${cell.ansibleApply}`);
    } else {
      await reset(hosts);
      const a = await ansible(files, false);
      await verify(hosts, d, "ansible");
      (cell.ansibleApply as Measured[]).push(a);
      ansiblePerItem = a.wall / (h * d);
      log(`ansible apply: ${a.wall.toFixed(2)} s, ${a.roundTrips} round trips`);
    }

    await reset(hosts);
    const dir = await stack(hosts, d);
    const apply = await bp(dir, ["apply", "--auto-approve"]);
    if (apply.exitCode !== 0) throw new Error(`backplane apply failed:\n${apply.stdout.slice(-3000)}\n${apply.stderr}`);
    await verify(hosts, d, "backplane");
    cell.bpApply.push(apply);
    log(`backplane apply: ${apply.wall.toFixed(2)} s, ${apply.roundTrips} round trips`);

    // Ansible's --check costs about what its apply did: as many runs as fit in the budget (at
    // least one), and no warm-up run when even one is long
    const checkCost = typeof cell.ansibleApply === "string" ? Infinity : cell.ansibleApply[0]!.wall;
    const checkRuns = Math.max(1, Math.min(runs, Math.floor(budget / checkCost)));
    for (let i = 0; i <= runs; i++) {
      const p = await bp(dir, ["plan", "--detailed-exitcode"]);
      if (p.exitCode !== 0 || !p.stdout.includes("No changes.")) throw new Error(`plan after apply is not empty (${p.exitCode}):\n${p.stdout.slice(-2000)}\n${p.stderr}`);
      const q = await bp(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
      if (q.exitCode !== 0) throw new Error(`plan --no-synth: ${q.exitCode}\n${q.stderr}`);
      const checkNow = typeof cell.check !== "string" && (i === 0 ? checkCost * (checkRuns + 1) <= budget : i <= checkRuns);
      const c = checkNow ? await ansible(files, true) : null;
      const ft = await floor(hosts);
      const fs = await floor(hosts, refreshScriptFile);
      if (i === 0) continue; // warm-up: file caches, the hosts' first zfs-fuse reads
      cell.plan.push(p); cell.planNoSynth.push(q); cell.floorTrue.push(ft); cell.floorScript.push(fs);
      if (c) (cell.check as Measured[]).push(c);
      log(`run ${i}: plan ${p.wall.toFixed(2)} s (${p.roundTrips} rt), --no-synth ${q.wall.toFixed(2)} s, ` +
        `ansible --check ${c ? `${c.wall.toFixed(2)} s (${c.roundTrips} rt)` : "-"}, floor true ${ft.wall.toFixed(2)} s, floor script ${fs.wall.toFixed(2)} s`);
    }
    cells.push(cell);
  }
}

// ── the tables ──
const walls = (ms: Measured[]) => ms.map((m) => m.wall);
const med = (ms: Measured[]) => median(walls(ms));
const perHost = (ms: Measured[], h: number) => `${(median(ms.map((m) => m.roundTrips)) / h).toFixed(h === 1 ? 0 : 1)}`;
const cpu = (ms: Measured[]) => `${median(ms.map((m) => m.controllerCpu)).toFixed(1)} / ${median(ms.map((m) => m.machineCpu)).toFixed(1)}`;
const orSkip = (x: Measured[] | string, f: (ms: Measured[]) => string) => (typeof x === "string" ? "not run" : f(x));

const ansibleVersion = (await execa("dpkg-query", ["-W", "-f", "${Version}", "ansible"], { reject: false })).stdout;
const zfsVersion = tier === "ns" ? "zfs-fuse 0.7 (pool v23)" : (await onHost(lab.hosts[0]!, "zfs version | head -1")).trim();
const title = `## Plan and apply at scale, ${tier} tier (\`npx tsx bench/scale.mts --tier ${tier} --hosts ${values.hosts} --datasets ${values.datasets} --runs ${runs}\`), ${new Date().toISOString().slice(0, 10)}`;
const lines = [
  title,
  "",
  `${await machine()}; ${tier === "ns" ? "ns-tier hosts (namespaces on this machine, sshd + zfs-fuse)" : "vm-tier guests (qemu TCG)"}, ${zfsVersion}; Ansible ${ansibleVersion} (community.general.zfs), pipelining on, facts off, forks ${FORKS}; backplane -parallelism 10 (default).`,
  `Each host: one pool (mountpoint=none) and D datasets with compression=gzip, atime=off, recordsize=64K. Plan columns: min / median of ${runs} runs after a warm-up, interleaved, all from cold SSH connections. rt/host = SSH round trips per host. CPU = controller / whole machine, seconds (median).`,
  "",
  "### Plan (no changes) against Ansible --check and the floor",
  "",
  "| H × D | backplane plan | plan --no-synth | ansible --check | floor: ssh true | floor: ssh sh -s (refresh script) | plan / ansible | plan / floor true | no-synth / floor script | rt/host plan | rt/host ansible | CPU plan | CPU ansible |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ...cells.map((c) => `| ${c.h} × ${c.d} | ${minMedian(walls(c.plan))} | ${minMedian(walls(c.planNoSynth))} | ${orSkip(c.check, (m) => `${minMedian(walls(m))} (n=${m.length})`)} | ${minMedian(walls(c.floorTrue))} | ${minMedian(walls(c.floorScript))} | ` +
    `${orSkip(c.check, (m) => ratio(med(c.plan), med(m)))} | ${ratio(med(c.plan), med(c.floorTrue))} | ${ratio(med(c.planNoSynth), med(c.floorScript))} | ${perHost(c.plan, c.h)} | ${orSkip(c.check, (m) => perHost(m, c.h))} | ${cpu(c.plan)} | ${orSkip(c.check, cpu)} |`),
  "",
  "### Apply from nothing (pool + D datasets on each host)",
  "",
  "| H × D | backplane apply | ansible-playbook | backplane / ansible | rt/host backplane | rt/host ansible | CPU backplane | CPU ansible |",
  "|---|---|---|---|---|---|---|---|",
  ...cells.map((c) => `| ${c.h} × ${c.d} | ${c.bpApply[0]!.wall.toFixed(2)} s | ${orSkip(c.ansibleApply, (m) => `${m[0]!.wall.toFixed(2)} s`)} | ${orSkip(c.ansibleApply, (m) => ratio(c.bpApply[0]!.wall, m[0]!.wall))} | ${perHost(c.bpApply, c.h)} | ${orSkip(c.ansibleApply, (m) => perHost(m, c.h))} | ${cpu(c.bpApply)} | ${orSkip(c.ansibleApply, cpu)} |`),
  "",
  ...cells.filter((c) => typeof c.check === "string").map((c) => `Ansible at ${c.h} × ${c.d}: ${c.check as string}.`),
  "",
];
const table = lines.join("\n");
console.log(`\n${table}`);
writeFileSync(join(work, "cells.json"), JSON.stringify(cells.map((c) => ({ ...c, bpApply: c.bpApply.map(strip), ansibleApply: typeof c.ansibleApply === "string" ? c.ansibleApply : c.ansibleApply.map(strip), plan: c.plan.map(strip), planNoSynth: c.planNoSynth.map(strip), check: typeof c.check === "string" ? c.check : c.check.map(strip), floorTrue: c.floorTrue.map(strip), floorScript: c.floorScript.map(strip) })), null, 2));
console.log(`raw measurements: ${join(work, "cells.json")}`);
if (values.record) appendFileSync(join(ROOT, "bench", "RESULTS.md"), `\n${table}`);
if (tier === "ns" && !values.keep) await labDown(log, labDir);

function strip(m: Measured) {
  return { wall: m.wall, roundTrips: m.roundTrips, controllerCpu: m.controllerCpu, maxRssMiB: m.maxRssMiB, machineCpu: m.machineCpu };
}
