/**
 * Replication throughput on the vm tier, backplane against the bare pipe between the same
 * two hosts in the same run: a full send of --size-mib (default 256) random MiB, then an
 * incremental of --change-mib (default 1), each --runs times (default 3), alternating.
 *
 *   backplane: `backplane replicate` (refresh, plan, snapshot, hold, send | ssh | recv,
 *              bookmark, release, prune, state write), wall time of the command, and the
 *              transfer's own time as the apply reports it
 *   bare pipe: `zfs send -L -c … | ssh <dr's tunnel address> zfs recv …` run on prod, the
 *              same key and the same forced `zfs recv`, timed on prod
 *
 * A full run destroys the target on dr first (the full stream starts from nothing). Needs
 * the vm lab up (npm run lab -- up). Appends its table to bench/RESULTS.md.
 *
 *   npx tsx bench/replication.mts [--size-mib 256] [--change-mib 1] [--runs 3]
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { backplane, project, resetHosts, sh, ROOT } from "../test/e2e/helpers.js";
import { PREPARE } from "../test/e2e/replication-stack.js";

const { values } = parseArgs({ options: { "size-mib": { type: "string", default: "256" }, "change-mib": { type: "string", default: "1" }, runs: { type: "string", default: "3" } } });
const [sizeMiB, changeMiB, runs] = [Number(values["size-mib"]), Number(values["change-mib"]), Number(values.runs)];
const KEY_DIR = "/etc/backplane/replication";

const STACK = `
const prod = new Host(stack, "prod", hostProps(prodInv));
const dr = new Host(stack, "dr", hostProps(drInv));
const tank = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]!], filesystemProperties: { mountpoint: "/tank" } });
const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
const uploads = prod.dataset("uploads", { name: "tank/srv/uploads", profile: "uploads", dependsOn: [srv] });
const backup = dr.pool("backup", { name: "backup", vdevs: [drInv.disks[0]!], filesystemProperties: { mountpoint: "/backup" } });
dr.dataset("backup-prod", { name: "backup/prod", properties: { readonly: "on" }, dependsOn: [backup] });
const mesh = new bp.WireGuardMesh(stack, "mesh", { hosts: [prod, dr], cidr: "10.201.0.0/24", listenPort: 51820 });
new bp.Replication(stack, "uploads-dr", { source: uploads, target: dr, targetDataset: "backup/prod/uploads", via: mesh, retainSource: 2, retainTarget: 2 });
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (ns: string) => Number(ns) / 1e9;

await resetHosts();
for (const h of ["prod", "dr"]) await sh(h, PREPARE.both);
const dir = await project("bench-replication", STACK);
const first = await backplane(dir, ["apply", "--auto-approve"]);
if (first.exitCode !== 0) throw new Error(first.stdout + first.stderr);
const drWg = (await sh("dr", "ip -o -4 addr show dev wg0 | awk '{print $4}' | cut -d/ -f1")).trim();
const id = (await sh("prod", `ls ${KEY_DIR} | grep -v '\\.' | head -1`)).trim();
const ssh = `ssh -F /dev/null -i ${KEY_DIR}/${id} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${KEY_DIR}/${id}.known_hosts ${drWg} recv`;
await sh("prod", `dd if=/dev/urandom of=/tank/srv/uploads/data.bin bs=1M count=${sizeMiB} status=none && sync`);

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

const dropTarget = () => sh("dr", "zfs destroy -r backup/prod/uploads");
const change = () => sh("prod", `dd if=/dev/urandom of=/tank/srv/uploads/data.bin bs=1M count=${changeMiB} seek=${Math.floor(sizeMiB / 2)} conv=notrunc status=none && sync`);

const rows = { bpFull: [] as number[], bpFullWall: [] as number[], bareFull: [] as number[], bpInc: [] as number[], bpIncWall: [] as number[], bareInc: [] as number[] };
for (let i = 0; i < runs; i++) {
  await dropTarget();
  const b = await viaBackplane();
  if (b.kind !== "full") throw new Error(`expected a full send, got ${b.kind}`);
  rows.bpFull.push(b.transfer); rows.bpFullWall.push(b.wall);
  await change();
  const inc = await viaBackplane();
  rows.bpInc.push(inc.transfer); rows.bpIncWall.push(inc.wall);

  await dropTarget();
  rows.bareFull.push(await bare("full", i));
  await change();
  rows.bareInc.push(await bare("incremental", i));
  console.log(`run ${i + 1}: full backplane ${b.transfer}s (wall ${b.wall}s) / bare ${rows.bareFull.at(-1)!.toFixed(1)}s; incremental backplane ${inc.transfer}s (wall ${inc.wall}s) / bare ${rows.bareInc.at(-1)!.toFixed(1)}s`);
}
// leave the target as backplane expects it for later runs of the stack
await dropTarget();

const zfs = (await sh("prod", "zfs version | head -1")).trim();
const f = (x: number) => x.toFixed(1);
const table = [
  `## Replication (\`npx tsx bench/replication.mts --size-mib ${sizeMiB} --change-mib ${changeMiB} --runs ${runs}\`), ${new Date().toISOString().slice(0, 10)}`,
  "",
  `vm tier (TCG), prod → dr over in-kernel WireGuard, ${zfs}; ${sizeMiB} MiB of random data (uploads profile: recordsize 1M, zstd),`,
  `then ${changeMiB} MiB rewritten. Medians of ${runs} runs, alternating backplane and the bare pipe with the same key and forced \`zfs recv\`.`,
  "",
  "| what | backplane transfer | backplane `replicate` wall | bare pipe | transfer ratio | wall ratio |",
  "|---|---|---|---|---|---|",
  `| full ${sizeMiB} MiB | ${f(median(rows.bpFull))} s (${f(sizeMiB / median(rows.bpFull))} MiB/s) | ${f(median(rows.bpFullWall))} s | ${f(median(rows.bareFull))} s (${f(sizeMiB / median(rows.bareFull))} MiB/s) | ${(median(rows.bpFull) / median(rows.bareFull)).toFixed(2)}x | ${(median(rows.bpFullWall) / median(rows.bareFull)).toFixed(2)}x |`,
  `| incremental ${changeMiB} MiB | ${f(median(rows.bpInc))} s | ${f(median(rows.bpIncWall))} s | ${f(median(rows.bareInc))} s | ${(median(rows.bpInc) / median(rows.bareInc)).toFixed(2)}x | ${(median(rows.bpIncWall) / median(rows.bareInc)).toFixed(2)}x |`,
  "",
  `Every run: full ${rows.bpFull.map(f).join(", ")} s vs bare ${rows.bareFull.map(f).join(", ")} s; incremental ${rows.bpInc.map(f).join(", ")} s vs bare ${rows.bareInc.map(f).join(", ")} s.`,
  "The transfer is the source host's round trip (snapshot, hold, estimate, send | ssh | recv, bookmark, release, prune); the wall",
  "time adds the CLI start, the refresh of both hosts, the plan, the target's pruning and the state write.",
  "",
].join("\n");
console.log(`\n${table}`);
await appendFile(join(ROOT, "bench", "RESULTS.md"), `\n${table}`);
