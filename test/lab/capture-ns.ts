/**
 * Captures the old-host refresh fixture from a one-host ns-tier lab (zfs-fuse 0.7, pool v23),
 * in its own lab folder so a running vm-tier lab is left alone:
 *   npx tsx test/lab/capture-ns.ts      → test/fixtures/refresh/zfs-fuse-0.7-old-pool.{txt,nonce}
 * The host has a pool `old`, a gzip dataset `old/logs` (marked `backplane:managed=fixture`) and a snapshot `old/logs@first`.
 */
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { nsUp } from "./ns.js";
import { labDown } from "./vm.js";
import { LAB_DIR } from "./hosts.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { argv } from "../../provider/model/argv.js";
import { batchScript } from "../../provider/engine/batch.js";
import { refreshItems } from "../../provider/engine/live.js";

const dir = `${LAB_DIR}-capture-ns`;
const out = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "refresh");
const lab = await nsUp({ hosts: 1, dir, log: (l) => console.log(l) });
const h = lab.hosts[0]!;
const t = new SshTransport({ alias: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.hostKey, knownHostsFile: h.knownHostsFile, commandPrefix: [], connectTimeout: 15 });
try {
  const setup = await t.run(argv("sh", "-c", 'set -e; zpool create old "$1"; zfs create -o compression=gzip -o backplane:managed=fixture old/logs; zfs snapshot old/logs@first', "sh", h.disks[0]!));
  if (setup.exitCode !== 0) throw new Error(setup.stderr);
  const nonce = randomBytes(6).toString("hex");
  const r = await t.script(batchScript(refreshItems([]), nonce));
  if (r.exitCode !== 0) throw new Error(r.stderr);
  await writeFile(join(out, "zfs-fuse-0.7-old-pool.nonce"), `${nonce}\n`);
  await writeFile(join(out, "zfs-fuse-0.7-old-pool.txt"), r.stdout);
  console.log(`captured refresh/zfs-fuse-0.7-old-pool from ${h.name} (${r.stdout.length} bytes)`);
} finally {
  await t.close();
  await labDown((l) => console.log(l), dir);
}
