/**
 * Runs the seed's pipeline on the inventory's `prod` and measures the bytes written to the
 * pool's disk (/proc/diskstats of its vdev, after `zpool sync`) for each stage, the ZFS way
 * against the copy-based way, on the same file:
 *
 *   ZFS:  upload (one write) → snapshot + clone (zero I/O) → transform in place →
 *         zfs send -L -c -i uploads@job transcode/job@done | zfs recv -o origin=uploads@job output/job
 *         (received as a clone: only the changed blocks) → destroy the clone
 *   cp:   upload → cp to transcode → transform in place → cp to output → rm the transcode copy
 *
 * "Transform in place" rewrites a tenth of the file in 1 MiB blocks (the datasets' recordsize: the
 * unit ZFS copies on write), the part a transcoder changes in place;
 * a transcoder that writes a whole new file would change everything and the ZFS way would
 * save the copies, not the transform. Usage (after the lab is up):
 *
 *   npx tsx examples/pipeline/run.mts [--size-mib 64] [--changed-percent 10]
 */
import { execa } from "execa";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SshTransport } from "../../provider/transport/ssh.js";
import { argv } from "../../provider/model/argv.js";
import { inventory, need } from "../inventory.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { "size-mib": { type: "string", default: "64" }, "changed-percent": { type: "string", default: "10" } } });
const sizeMiB = Number(values["size-mib"]);
const changedPct = Number(values["changed-percent"]);
if (!(sizeMiB >= 1 && sizeMiB <= 4096) || !(changedPct > 0 && changedPct <= 100)) throw new Error("--size-mib 1..4096, --changed-percent 1..100");

const bp = async (...args: string[]) => {
  const r = await execa(join(here, "..", "..", "bin", "backplane.mjs"), args, { cwd: here, reject: false, env: { NO_COLOR: "1" } });
  if (r.exitCode !== 0) throw new Error(`backplane ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

console.log(`pipeline: provisioning the datasets with backplane (examples/pipeline/main.ts)`);
await bp("apply", "--auto-approve");

const h = need(inventory(), "prod");
const t = new SshTransport({ alias: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.hostKey, sshConfigFile: h.sshConfigFile, commandPrefix: [], connectTimeout: 15 });
const on = async (script: string, ...args: string[]) => {
  const r = await t.run(argv("sh", "-c", script, "sh", ...args));
  if (r.exitCode !== 0) throw new Error(`prod: ${script}: ${r.stderr}`);
  return r.stdout.trim();
};

// the pool's disk, and its sectors written so far (field 10 of /proc/diskstats)
const disk = await on('basename "$(readlink -f "$(zpool status -P -L tank | awk \'$1 ~ "^/dev/" { print $1; exit }\')")"');
const written = async () => {
  await on("sync; zpool sync tank");
  return Number(await on("awk -v d=\"$1\" '$3 == d { print $10 * 512 }' /proc/diskstats", disk.replace(/[0-9]+$/, "") === disk ? disk : disk));
};
const stage = async (name: string, script: string, ...args: string[]) => {
  const before = await written();
  await on(script, ...args);
  const bytes = (await written()) - before;
  console.log(`  ${name.padEnd(52)} ${(bytes / 1048576).toFixed(1).padStart(8)} MiB`);
  return bytes;
};

const job = `job-${Date.now().toString(36)}`;
const size = sizeMiB * 1048576;
const blocks = Math.floor(size / 1048576);
const changed = Math.max(1, Math.round((blocks * changedPct) / 100));
// the same input for both ways, on the root disk (not the pool): the upload arrives from elsewhere
await on(`head -c ${size} /dev/urandom > /root/pipeline-input.bin`);
// transform in place: rewrite `changed` 1 MiB blocks spread over the file (deterministic offsets)
const transform = (file: string) => `f=${file}; i=0; while [ $i -lt ${changed} ]; do dd if=/dev/urandom of="$f" bs=1048576 count=1 seek=$(( i * ${blocks} / ${changed} )) conv=notrunc status=none; i=$((i+1)); done`;

console.log(`pipeline: ${sizeMiB} MiB upload, ${changedPct}% rewritten in place (${changed} × 1 MiB), disk ${disk}\nZFS way (${job}):`);
let zfsWay = 0;
zfsWay += await stage("upload: one write into tank/srv/uploads", 'cp /root/pipeline-input.bin "/tank/srv/uploads/$1.raw"', job);
zfsWay += await stage("snapshot uploads@job, clone into transcode/job", 'zfs snapshot "tank/srv/uploads@$1" && zfs clone "tank/srv/uploads@$1" "tank/srv/transcode/$1"', job);
zfsWay += await stage("transform in place on the clone", transform(`/tank/srv/transcode/${job}/${job}.raw`));
zfsWay += await stage("send -i the result into output (a clone there)", 'zfs snapshot "tank/srv/transcode/$1@done" && zfs send -L -c -i "tank/srv/uploads@$1" "tank/srv/transcode/$1@done" | zfs recv -o "origin=tank/srv/uploads@$1" "tank/srv/output/$1"', job);
// the output holds exactly the transformed file
const zfsSum = await on('zfs mount "tank/srv/output/$1" 2>/dev/null; sha256sum "/tank/srv/output/$1/$1.raw" | cut -d" " -f1', job);
const clonedSum = await on('sha256sum "/tank/srv/transcode/$1/$1.raw" | cut -d" " -f1', job);
if (zfsSum !== clonedSum) throw new Error(`output/${job} differs from the transformed clone (${zfsSum} vs ${clonedSum})`);
zfsWay += await stage("destroy the clone", 'zfs destroy -r "tank/srv/transcode/$1"', job);

/**
 * The copy-based way twice: with `dd` (bytes through userspace, as cp copies on ext4 — the
 * seed's comparison) and with `cp`, which on OpenZFS 2.2+ with block cloning (copy_file_range)
 * clones blocks instead of writing them: a copy on the same pool is then nearly free too.
 */
const copyWay = async (how: "dd" | "cp") => {
  // dd reads and writes (coreutils 9's cat and cp use copy_file_range, which clones on ZFS)
  const copy = how === "dd" ? 'dd if="$1" of="$2" bs=1M status=none' : 'cp "$1" "$2"';
  const d = `/tank/srv/copyway/${how}`;
  console.log(`copy-based way, copies with ${how}${how === "cp" ? " (copy_file_range: block cloning)" : " (read and write through userspace, as cp copies on ext4)"}:`);
  await on('mkdir -p "$1/uploads" "$1/transcode" "$1/output"', d);
  let sum = 0;
  sum += await stage("upload: one write into uploads/", copy, "/root/pipeline-input.bin", `${d}/uploads/${job}.raw`);
  sum += await stage("copy into transcode/", copy, `${d}/uploads/${job}.raw`, `${d}/transcode/${job}.raw`);
  sum += await stage("transform in place", transform(`${d}/transcode/${job}.raw`));
  sum += await stage("copy the result into output/", copy, `${d}/transcode/${job}.raw`, `${d}/output/${job}.raw`);
  sum += await stage("rm the transcode copy", 'rm "$1"', `${d}/transcode/${job}.raw`);
  return sum;
};
const catWay = await copyWay("dd");
const cpWay = await copyWay("cp");
await on("rm -f /root/pipeline-input.bin");

// the two ways must have produced different bytes from the same input only where the transform wrote
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
console.log(`\nresult of the ZFS way: /tank/srv/output/${job}/${job}.raw sha256 ${zfsSum.slice(0, 16)}…, the same as the transformed clone's`);
console.log(`bytes written to the pool: ZFS way ${mib(zfsWay)}; copies through userspace (dd) ${mib(catWay)} (ratio ${(zfsWay / catWay).toFixed(2)}; the seed claims ≈ 4 GB vs 12 GB = 0.33); cp with block cloning ${mib(cpWay)} (ratio ${(zfsWay / cpWay).toFixed(2)})`);
await t.close();
