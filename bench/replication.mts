/**
 * Replication throughput on the vm tier: backplane against syncoid and the bare pipe between
 * the same two hosts in the same run: a full send of --size-mib (default 1024) random MiB,
 * then an incremental of --change-mib (default 1 % of it), each --runs times (default 3),
 * alternating.
 *
 *   backplane: `backplane replicate` (refresh, plan, snapshot, hold, send | ssh | recv,
 *              bookmark, release, prune, state write), wall time of the command, and the
 *              transfer's own time as the apply reports it
 *   syncoid:   Debian's sanoid package (its .debs fetched with this machine's apt
 *              configuration and installed into the guests for the run; the image stays as it
 *              is), run on prod with its defaults (a sync snapshot, -I from the newest common
 *              one, lzop and mbuffer on the pipe) to root@dr's WireGuard address, timed on prod
 *   bare pipe: `zfs send -L -c … | ssh <dr's tunnel address> zfs recv …` run on prod, the
 *              same key and the same forced `zfs recv`, timed on prod
 *   backplane's pipe alone: the sync script's own `pipe` function (`zfs send -v -P`, its ssh
 *              options, the exit code through a file), run on prod on a snapshot taken before
 *              the clock starts and timed there, as the bare pipe is. Against the bare pipe it
 *              prices backplane's pipe; against backplane's transfer, roughly, its fixed steps and
 *              the controller's SSH round trip (one send of the same pipe spreads ±20 % on TCG:
 *              read the per-run ratios, not one difference)
 *
 * The four go in a different order each run (rotated), each after dr's copies are destroyed (a
 * full stream starts from nothing; dr holds one copy at a time): drift and cache warmth do not
 * fall on one of them. Pools stripe both lab disks (2 GiB a host). Needs the vm lab up (npm run lab -- up). Appends its
 * table to bench/RESULTS.md.
 *
 *   npx tsx bench/replication.mts [--size-mib 1024] [--change-mib 10] [--runs 3]
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { backplane, installDebs, project, resetHosts, sh, ROOT } from "../test/e2e/helpers.js";
import { PREPARE } from "../test/e2e/replication-stack.js";
import { SCRIPTS } from "../provider/resources/replication.js";
// the lower middle of an even count (the upper one made a median of two runs their maximum)
import { median } from "./measure.js";

const { values } = parseArgs({ options: { "size-mib": { type: "string", default: "1024" }, "change-mib": { type: "string" }, runs: { type: "string", default: "3" } } });
const sizeMiB = Number(values["size-mib"]);
const [changeMiB, runs] = [Number(values["change-mib"] ?? Math.max(1, Math.round(sizeMiB / 100))), Number(values.runs)];
if (![sizeMiB, changeMiB, runs].every((n) => Number.isInteger(n) && n > 0) || sizeMiB > 1400 || changeMiB > sizeMiB / 10) throw new Error("--size-mib (1 to 1400: two 1 GiB disks a host), --change-mib (at most a tenth of it) and --runs are positive whole numbers");
const KEY_DIR = "/etc/backplane/replication";

const STACK = `
const prod = new Host(stack, "prod", hostProps(prodInv));
const dr = new Host(stack, "dr", hostProps(drInv));
const tank = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]!, prodInv.disks[1]!], filesystemProperties: { mountpoint: "/tank" } });
const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
const uploads = prod.dataset("uploads", { name: "tank/srv/uploads", profile: "uploads", dependsOn: [srv] });
const backup = dr.pool("backup", { name: "backup", vdevs: [drInv.disks[0]!, drInv.disks[1]!], filesystemProperties: { mountpoint: "/backup" } });
dr.dataset("backup-prod", { name: "backup/prod", properties: { readonly: "on" }, dependsOn: [backup] });
const mesh = new bp.WireGuardMesh(stack, "mesh", { hosts: [prod, dr], cidr: "10.201.0.0/24", listenPort: 51820 });
new bp.Replication(stack, "uploads-dr", { source: uploads, target: dr, targetDataset: "backup/prod/uploads", via: mesh, retainSource: 2, retainTarget: 2 });
`;

const seconds = (ns: string) => Number(ns) / 1e9;

await resetHosts();
for (const h of ["prod", "dr"]) await sh(h, PREPARE.both);
const dir = await project("bench-replication", STACK);
const first = await backplane(dir, ["apply", "--auto-approve"]);
if (first.exitCode !== 0) throw new Error(first.stdout + first.stderr);
const drWg = (await sh("dr", "ip -o -4 addr show dev wg0 | awk '{print $4}' | cut -d/ -f1")).trim();
const id = (await sh("prod", `ls ${KEY_DIR} | grep -v '\\.' | head -1`)).trim();
if (!/^\d+\.\d+\.\d+\.\d+$/.test(drWg) || !/^[0-9a-f]+$/.test(id)) throw new Error(`dr's tunnel address (${JSON.stringify(drWg)}) or the replication's key (${JSON.stringify(id)}) is not what the stack makes`);
const ssh = `ssh -F /dev/null -i ${KEY_DIR}/${id} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${KEY_DIR}/${id}.known_hosts ${drWg} recv`;
await sh("prod", `dd if=/dev/urandom of=/tank/srv/uploads/data.bin bs=1M count=${sizeMiB} status=none && sync`);

/**
 * syncoid on prod, able to reach dr as root over WireGuard with a key of its own (syncoid runs
 * zfs list/get/send/recv and its helpers there: no forced command). Returns its version.
 */
async function prepareSyncoid(): Promise<string> {
  await installDebs(["prod", "dr"], ["sanoid", "libcapture-tiny-perl", "libconfig-inifiles-perl", "pv", "lzop", "liblzo2-2", "mbuffer"]);
  // sanoid's own timer has no configuration here and is not part of the comparison
  for (const h of ["prod", "dr"]) await sh(h, "{ systemctl disable --now sanoid.timer >/dev/null 2>&1 || true; } && command -v syncoid >/dev/null");
  await sh("prod", `[ -f ${SYNCOID_KEY} ] || ssh-keygen -q -t ed25519 -N '' -f ${SYNCOID_KEY}`);
  const pub = (await sh("prod", `cat ${SYNCOID_KEY}.pub`)).trim();
  await sh("dr", `mkdir -p /root/.ssh && grep -qxF '${pub}' /root/.ssh/authorized_keys 2>/dev/null || echo '${pub}' >> /root/.ssh/authorized_keys`);
  const version = (await sh("prod", "syncoid --version 2>&1")).trim().split("\n")[0]!;
  if (!/syncoid/i.test(version)) throw new Error(`syncoid on prod does not say its version: ${version}`);
  return version;
}
const SYNCOID_KEY = "/root/.ssh/bench-syncoid";
// beside backup/prod, not under it: that one is readonly=on and mounted, and syncoid's receive mounts what it makes
const SYNCOID_TARGET = "backup/uploads-syncoid";
const syncoidVersion = await prepareSyncoid();

/** syncoid with its defaults, timed on prod; full when its target is absent, else incremental. */
async function viaSyncoid(): Promise<number> {
  const cmd = `syncoid --quiet --sshkey=${SYNCOID_KEY} --sshoption=StrictHostKeyChecking=accept-new --sshoption=UserKnownHostsFile=${SYNCOID_KEY}.known_hosts tank/srv/uploads root@${drWg}:${SYNCOID_TARGET}`;
  const out = await sh("prod", `s=$(date +%s%N) && ${cmd} >&2 && echo $(( $(date +%s%N) - s ))`);
  return seconds(out.trim().split("\n").pop()!);
}

/** backplane replicate: wall seconds of the command, and the transfer's seconds as it reports them. */
async function viaBackplane(): Promise<{ wall: number; transfer: number; kind: string }> {
  const t0 = Date.now();
  const r = await backplane(dir, ["replicate", "--no-synth"]);
  const wall = (Date.now() - t0) / 1000;
  if (r.exitCode !== 0) throw new Error(r.stdout + r.stderr);
  const m = /uploads → dr:backup\/prod\/uploads: (full|incremental)[^\n]* in ([\d.]+)s/.exec(r.stdout);
  if (!m) throw new Error(`no transfer line in:\n${r.stdout}`);
  return { wall, transfer: Number(m[2]), kind: m[1]! };
}

/** The bare pipe on prod, timed there: full from nothing, or incremental from the newest snapshot both sides hold. */
async function bare(kind: "full" | "incremental", n: number): Promise<number> {
  const from = (await sh("prod", "zfs list -H -o name -t snapshot -s createtxg tank/srv/uploads | tail -1")).trim();
  const snap = `tank/srv/uploads@bare-${kind}-${n}`;
  const send = kind === "full" ? `zfs send -L -c ${snap}` : `zfs send -L -c -i '${from}' ${snap}`;
  const out = await sh("prod", `zfs snapshot ${snap} && s=$(date +%s%N) && ${send} | ${ssh} && echo $(( $(date +%s%N) - s ))`);
  return seconds(out.trim().split("\n").pop()!);
}

/** backplane's own `pipe` (from its sync script) on prod, timed there, on the bare pipe's terms. */
async function pipeAlone(kind: "full" | "incremental", n: number): Promise<number> {
  const from = (await sh("prod", "zfs list -H -o name -t snapshot -s createtxg tank/srv/uploads | tail -1")).trim();
  const snap = `tank/srv/uploads@pipe-${kind}-${n}`;
  const args = kind === "full" ? `-L -c ${snap}` : `-L -c -I '${from}' ${snap}`;
  // its progress lines reach this process on stderr, as the sync script's do; pipe sets s and r (t0 here);
  // no `set -e`: pipe's own check of both exit codes is part of what is timed
  const script = [`zfs snapshot ${snap} || exit 1`, `d=${KEY_DIR} id=${id} port=22 user=root addr=${drWg}`, "st=$(mktemp) || exit 1", `trap 'rm -f "$st"' EXIT`,
    `fail() { echo "$*" >&2; exit 1; }`, SCRIPTS.transfer(), "t0=$(date +%s%N)", `pipe ${args}`, "echo $(( $(date +%s%N) - t0 ))"].join("\n");
  const out = await sh("prod", script);
  return seconds(out.trim().split("\n").pop()!);
}

/** A target on dr destroyed with what it holds, if it is there (a full send starts from nothing). */
const dropOnDr = (dataset: string) => sh("dr", `if zfs list ${dataset} >/dev/null 2>&1; then zfs destroy -r ${dataset}; fi`);
const dropTarget = () => dropOnDr("backup/prod/uploads");
const change = () => sh("prod", `dd if=/dev/urandom of=/tank/srv/uploads/data.bin bs=1M count=${changeMiB} seek=${Math.floor(sizeMiB / 2)} conv=notrunc status=none && sync`);

const rows = { bpFull: [] as number[], bpFullWall: [] as number[], bareFull: [] as number[], bpInc: [] as number[], bpIncWall: [] as number[], bareInc: [] as number[], pipeFull: [] as number[], pipeInc: [] as number[], syncoidFull: [] as number[], syncoidInc: [] as number[] };
const dropSyncoidTarget = () => dropOnDr(SYNCOID_TARGET);
/** Each one: a full send from nothing, a change, an incremental; dr's copies destroyed before. */
const VARIANTS: Record<"backplane" | "bare" | "pipe" | "syncoid", (i: number) => Promise<void>> = {
  async backplane() {
    const b = await viaBackplane();
    if (b.kind !== "full") throw new Error(`expected a full send, got ${b.kind}`);
    rows.bpFull.push(b.transfer); rows.bpFullWall.push(b.wall);
    await change();
    const inc = await viaBackplane();
    rows.bpInc.push(inc.transfer); rows.bpIncWall.push(inc.wall);
  },
  async bare(i) {
    rows.bareFull.push(await bare("full", i));
    await change();
    rows.bareInc.push(await bare("incremental", i));
  },
  async pipe(i) {
    rows.pipeFull.push(await pipeAlone("full", i));
    await change();
    rows.pipeInc.push(await pipeAlone("incremental", i));
  },
  async syncoid() {
    rows.syncoidFull.push(await viaSyncoid());
    await change();
    rows.syncoidInc.push(await viaSyncoid());
  },
};
const NAMES = Object.keys(VARIANTS) as (keyof typeof VARIANTS)[];
for (let i = 0; i < runs; i++) {
  const order = [...NAMES.slice(i % NAMES.length), ...NAMES.slice(0, i % NAMES.length)];
  for (const v of order) {
    await dropTarget();
    await dropSyncoidTarget();
    await VARIANTS[v](i);
    // the bare pipes' snapshots go: the chains syncoid and backplane see stay alike from run to run
    await sh("prod", "zfs list -H -o name -t snapshot tank/srv/uploads | grep -E '@(bare|pipe)-' | xargs -r -n1 zfs destroy");
  }
  const at = (xs: number[]) => xs.at(-1)!.toFixed(1);
  console.log(`run ${i + 1} (${order.join(", ")}): full backplane ${at(rows.bpFull)}s (wall ${at(rows.bpFullWall)}s) / syncoid ${at(rows.syncoidFull)}s / bare ${at(rows.bareFull)}s; ` +
    `incremental backplane ${at(rows.bpInc)}s (wall ${at(rows.bpIncWall)}s) / syncoid ${at(rows.syncoidInc)}s / bare ${at(rows.bareInc)}s; ` +
    `backplane's pipe alone: full ${at(rows.pipeFull)}s, incremental ${at(rows.pipeInc)}s`);
}
await dropTarget();
await dropSyncoidTarget();
/** Per run, the other's time over backplane's (or its pipe's): a pair from the same minutes. */
const paired = (num: number[], den: number[]) => num.map((x, k) => `${(x / den[k]!).toFixed(2)}x`).join(", ");

/**
 * Where backplane's transfer loses to the bare pipe: its fixed steps on the source, each timed
 * alone on prod (median of the runs, ms) on a snapshot of the same dataset after one more change,
 * in the order the transfer runs them. `true` is the timing's own cost (two `date` processes), taken
 * off every other step.
 */
const STEPS: [string, string][] = [
  ["(the timing itself: true)", "true"],
  ["zfs snapshot -o backplane:managed=…", "zfs snapshot -o backplane:managed=bench \"$new\""],
  ["zfs hold", "zfs hold bench \"$new\""],
  ["estimate: zfs send -nP -L -c -I", "zfs send -nP -L -c -I \"$from\" \"$new\""],
  ["zfs bookmark", "zfs bookmark \"$new\" \"${new%%@*}#${new#*@}\""],
  ["zfs get guid", "zfs get -Hp -o value guid \"$new\""],
  ["list + holds of the chain (the old hold's search)", "zfs list -H -o name -t snapshot -d 1 tank/srv/uploads | tr '\\n' '\\0' | xargs -0 -r zfs holds -H"],
  ["zfs release (this hold; as costly as the old one's)", "zfs release bench \"$new\""],
  ["prune: zfs get the marker", "zfs get -H -o value -s local backplane:managed \"$new\""],
  ["prune: zfs destroy the snapshot", "zfs destroy \"$new\""],
  ["prune: zfs destroy its bookmark", "zfs destroy \"${new%%@*}#${new#*@}\""],
];
const stepMs: number[][] = STEPS.map(() => []);
for (let i = 0; i < runs; i++) {
  await change();
  const script = [
    "from=$(zfs list -H -o name -t snapshot -s createtxg tank/srv/uploads | tail -1) new=tank/srv/uploads@bench-profile",
    ...STEPS.map(([, cmd]) => `s=$(date +%s%N); ${cmd} >/dev/null 2>&1 || { echo "failed: ${cmd.replace(/["$`\\]/g, "")}" >&2; exit 1; }; echo $(( $(date +%s%N) - s ))`),
  ].join("\n");
  const out = (await sh("prod", script)).trim().split("\n").map(Number);
  if (out.length !== STEPS.length || out.some((n) => !Number.isFinite(n))) throw new Error(`the step profile printed ${out.join(" ")}`);
  out.forEach((ns, k) => stepMs[k]!.push(ns / 1e6));
}
const overhead = median(stepMs[0]!);
const stepCost = (k: number) => Math.max(0, median(stepMs[k]!) - overhead);
const stepsTotal = STEPS.slice(1).reduce((t, _, k) => t + stepCost(k + 1), 0);

const zfs = (await sh("prod", "zfs version | head -1")).trim();
const f = (x: number) => x.toFixed(1);
const table = [
  `## Replication (\`npx tsx bench/replication.mts --size-mib ${sizeMiB} --change-mib ${changeMiB} --runs ${runs}\`), ${new Date().toISOString().slice(0, 10)}`,
  "",
  `vm tier (TCG), prod → dr over in-kernel WireGuard, ${zfs}, ${syncoidVersion}; ${sizeMiB} MiB of random data (uploads profile: recordsize 1M, zstd),`,
  `then ${changeMiB} MiB rewritten. Medians of ${runs} runs (of an even count, the lower middle one); in each run backplane, the bare pipe (the same key and forced \`zfs recv\`), backplane's pipe alone and syncoid (its defaults), in an order rotated from run to run.`,
  "Ratios are the other's time over backplane's transfer: above 1 backplane is faster.",
  "",
  "| what | backplane transfer | backplane `replicate` wall | backplane's pipe alone | syncoid | bare pipe | syncoid / backplane | bare / backplane | bare / backplane wall | bare / backplane's pipe |",
  "|---|---|---|---|---|---|---|---|---|---|",
  `| full ${sizeMiB} MiB | ${f(median(rows.bpFull))} s (${f(sizeMiB / median(rows.bpFull))} MiB/s) | ${f(median(rows.bpFullWall))} s | ${f(median(rows.pipeFull))} s | ${f(median(rows.syncoidFull))} s | ${f(median(rows.bareFull))} s (${f(sizeMiB / median(rows.bareFull))} MiB/s) | ${(median(rows.syncoidFull) / median(rows.bpFull)).toFixed(2)}x | ${(median(rows.bareFull) / median(rows.bpFull)).toFixed(2)}x | ${(median(rows.bareFull) / median(rows.bpFullWall)).toFixed(2)}x | ${(median(rows.bareFull) / median(rows.pipeFull)).toFixed(2)}x |`,
  `| incremental ${changeMiB} MiB | ${f(median(rows.bpInc))} s | ${f(median(rows.bpIncWall))} s | ${f(median(rows.pipeInc))} s | ${f(median(rows.syncoidInc))} s | ${f(median(rows.bareInc))} s | ${(median(rows.syncoidInc) / median(rows.bpInc)).toFixed(2)}x | ${(median(rows.bareInc) / median(rows.bpInc)).toFixed(2)}x | ${(median(rows.bareInc) / median(rows.bpIncWall)).toFixed(2)}x | ${(median(rows.bareInc) / median(rows.pipeInc)).toFixed(2)}x |`,
  "",
  `Every run: full ${rows.bpFull.map(f).join(", ")} s vs syncoid ${rows.syncoidFull.map(f).join(", ")} s vs bare ${rows.bareFull.map(f).join(", ")} s; ` +
    `incremental ${rows.bpInc.map(f).join(", ")} s vs syncoid ${rows.syncoidInc.map(f).join(", ")} s vs bare ${rows.bareInc.map(f).join(", ")} s; ` +
    `backplane's pipe alone: full ${rows.pipeFull.map(f).join(", ")} s, incremental ${rows.pipeInc.map(f).join(", ")} s.`,
  `Per run (same minutes): bare / backplane full ${paired(rows.bareFull, rows.bpFull)}, incremental ${paired(rows.bareInc, rows.bpInc)}; ` +
    `bare / backplane's pipe full ${paired(rows.bareFull, rows.pipeFull)}, incremental ${paired(rows.bareInc, rows.pipeInc)}; syncoid / backplane full ${paired(rows.syncoidFull, rows.bpFull)}.`,
  "The transfer is the source host's round trip (snapshot, hold, estimate, send | ssh | recv, bookmark, release, prune); the wall",
  "time adds the CLI start, the refresh of both hosts, the plan, the target's pruning and the state write. syncoid's time is its",
  "whole run on prod (its own listing of both sides, sync snapshot, send | lzop | mbuffer | ssh | … | recv, pruning its old sync snapshots);",
  "its full send is the source's oldest snapshot and then -I to the newest, so it also carries the earlier runs' rewrites (backplane's full is one snapshot);",
  "its defaults compress the pipe with lzop, on the guests' single emulated CPU (random data does not compress).",
  "",
  `Backplane's fixed steps on the source, each timed alone on prod (ms, median of ${runs}, after a ${changeMiB} MiB change, less the timing's own ${overhead.toFixed(0)} ms; the bare pipe has none of them):`,
  "",
  "| step | ms |",
  "|---|---|",
  ...STEPS.slice(1).map(([name], k) => `| ${name} | ${stepCost(k + 1).toFixed(0)} |`),
  `| **all of them** | **${stepsTotal.toFixed(0)}** |`,
  "",
].join("\n");
console.log(`\n${table}`);
await appendFile(join(ROOT, "bench", "RESULTS.md"), `\n${table}`);
