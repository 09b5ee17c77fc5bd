/**
 * What `zfs send -v -P` (the progress backplane's transfer reports) costs a full send on the
 * vm tier: the bare pipe of bench/replication.mts with and without it, on the same snapshot,
 * alternating A B B A after one send that is not counted (the first read is the only one from a
 * cold cache), so a linear drift of the emulation's speed falls on both alike: compared by means
 * and by each round's sums, not by a median (of two sends, the faster). The progress lines go
 * back over the controller's SSH session, as the sync script's do.
 *
 * Runs on what `bench/replication.mts` leaves on the running lab (its stack applied, its data in
 * tank/srv/uploads on prod, the replication's key); the target on dr is destroyed before each
 * send. Appends its table to bench/RESULTS.md.
 *
 *   npx tsx bench/send-progress.mts [--rounds 1]     (one round = A B B A)
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sh, ROOT } from "../test/e2e/helpers.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "1" } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds is a positive whole number");
const KEY_DIR = "/etc/backplane/replication";
const TARGET = "backup/prod/uploads";

const drWg = (await sh("dr", "ip -o -4 addr show dev wg0 | awk '{print $4}' | cut -d/ -f1")).trim();
const id = (await sh("prod", `ls ${KEY_DIR} | grep -v '\\.' | head -1`)).trim();
if (!drWg || !id) throw new Error("no replication set up on the lab: run bench/replication.mts first");
const ssh = `ssh -F /dev/null -i ${KEY_DIR}/${id} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${KEY_DIR}/${id}.known_hosts ${drWg} recv`;
const snap = "tank/srv/uploads@send-progress";
await sh("prod", `zfs list ${snap} >/dev/null 2>&1 || zfs snapshot ${snap}`);
const size = Number((await sh("prod", `zfs get -Hp -o value referenced ${snap}`)).trim());

const VARIANTS = { bare: "zfs send -L -c", progress: "zfs send -v -P -L -c" } as const;
type Variant = keyof typeof VARIANTS;
const times: Record<Variant, number[]> = { bare: [], progress: [] };

async function send(v: Variant): Promise<number> {
  await sh("dr", `if zfs list ${TARGET} >/dev/null 2>&1; then zfs destroy -r ${TARGET}; fi; zpool sync`);
  const out = await sh("prod", `t0=$(date +%s%N) && ${VARIANTS[v]} ${snap} | ${ssh} && echo $(( $(date +%s%N) - t0 ))`);
  const s = Number(out.trim().split("\n").pop()) / 1e9;
  console.log(`${v}: ${s.toFixed(1)} s`);
  return s;
}

console.log("(not counted)");
await send("bare");
const perRound: string[] = [];
for (let r = 0; r < rounds; r++) {
  const round: Record<Variant, number> = { bare: 0, progress: 0 };
  for (const v of ["bare", "progress", "progress", "bare"] as const) {
    const t = await send(v);
    times[v].push(t);
    round[v] += t;
  }
  perRound.push(`${(round.bare / round.progress).toFixed(2)}x`);
}
await sh("dr", `if zfs list ${TARGET} >/dev/null 2>&1; then zfs destroy -r ${TARGET}; fi`);
await sh("prod", `zfs destroy ${snap}`);

const zfs = (await sh("prod", "zfs version | head -1")).trim();
const f = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const table = [
  `## What \`zfs send -v -P\` costs a full send (\`npx tsx bench/send-progress.mts --rounds ${rounds}\`), ${new Date().toISOString().slice(0, 10)}`,
  "",
  `vm tier (TCG), prod → dr over in-kernel WireGuard, ${zfs}; one snapshot of ${(size / 2 ** 20).toFixed(0)} MiB, sent whole ${rounds * 4} times (A B B A) after one send not counted, the target destroyed before each.`,
  "",
  "| what | every send, in order | mean | bare / this (means) |",
  "|---|---|---|---|",
  `| bare: \`zfs send -L -c\` | ${f(times.bare)} s | ${mean(times.bare).toFixed(1)} s | 1.00x |`,
  `| with progress: \`zfs send -v -P -L -c\` | ${f(times.progress)} s | ${mean(times.progress).toFixed(1)} s | ${(mean(times.bare) / mean(times.progress)).toFixed(2)}x |`,
  "",
  `Each round's sums, bare / with progress: ${perRound.join(", ")}.`,
  "",
].join("\n");
console.log(`\n${table}`);
await appendFile(join(ROOT, "bench", "RESULTS.md"), `\n${table}`);
