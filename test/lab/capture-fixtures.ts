/**
 * Captures real command output from a running lab host into test/fixtures/<fact>/<case>.{cmd,txt}
 * for the parsers' unit tests. Builds a throw-away pool on the host's second disk, with
 * local, inherited and default values, odd names and user properties, then destroys it.
 *
 *   npx tsx test/lab/capture-fixtures.ts [host] [label]     (label: zfs-2.3, zfs-2.1, zfs-fuse)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { labHost, readLab } from "./hosts.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { argv, toDisplay, type Argv } from "../../provider/model/argv.js";
import { zfsVersion, pools, poolProperties, datasetProperties, datasetPropertiesTabs, localPropertiesTabs, localProperties, objectNames, snapshots } from "../../provider/zfs/facts.js";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "..", "fixtures");

export function transportFor(name: string) {
  const h = labHost(name, readLab());
  return new SshTransport({
    alias: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile,
    hostKey: h.hostKey, commandPrefix: [], connectTimeout: 15,
  });
}

async function main() {
  const hostName = process.argv[2] ?? "prod";
  const label = process.argv[3] ?? "zfs-2.3";
  const host = labHost(hostName);
  const t = transportFor(hostName);
  const must = async (cmd: Argv) => {
    const r = await t.run(cmd);
    if (r.exitCode !== 0) throw new Error(`${toDisplay(cmd)}: ${r.stderr}`);
    return r.stdout;
  };
  const save = async (fact: string, name: string, cmd: Argv) => {
    const r = await t.run(cmd);
    const dir = join(fixtures, fact);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${label}-${name}.cmd`), toDisplay(cmd) + "\n");
    await writeFile(join(dir, `${label}-${name}.txt`), r.stdout);
    if (r.stderr) await writeFile(join(dir, `${label}-${name}.stderr`), r.stderr);
    console.log(`captured ${fact}/${label}-${name} (${r.stdout.length} bytes, exit ${r.exitCode})`);
  };
  const userProps = ["com.example:owner"];
  await must(argv("sh", "-c", "zpool destroy fx 2>/dev/null; true"));
  await save("zpool-list", "no-pools", pools.command);
  await save("zfs-version", "host", zfsVersion.command);
  const disk = host.disks[1]!;
  await must(argv("zpool", "create", "-f", "-o", "ashift=12", "-O", "mountpoint=/fx", "fx", disk));
  await must(argv("zfs", "create", "fx/plain"));
  await must(argv("zfs", "create", "-o", "recordsize=1M", "-o", "compression=zstd", "-o", "quota=500G", "fx/tuned"));
  await must(argv("zfs", "create", "-o", "atime=off", "fx/tuned/child"));
  await must(argv("zfs", "create", "-o", "com.example:owner=media team", "fx/with space"));
  await must(argv("zfs", "create", "-V", "64M", "-o", "volblocksize=16K", "fx/vol"));
  await must(argv("zfs", "set", "backplane:managed=fixture-lineage", "fx/tuned"));
  await must(argv("zfs", "snapshot", "fx/tuned@first"));
  await must(argv("zfs", "snapshot", "fx/with space@snap with space"));
  await save("zpool-list", "one-pool", pools.command);
  await save("zpool-get", "one-pool", poolProperties.command);
  await save("zfs-get", "mixed-sources", datasetPropertiesTabs(userProps).command);
  await save("zfs-get-json", "mixed-sources", datasetProperties(userProps).command);
  await save("zfs-list-names", "mixed-sources", objectNames.command);
  await save("zfs-list-snapshots", "two", snapshots.command);
  // A value holding a tab and newlines, crafted to forge rows (a marker on fx/plain and on a
  // snapshot with no local property of its own) in every tab-separated read.
  await must(argv("zfs", "set", "com.example:owner=ops\tlocal\nfx/plain\tbackplane:managed\tfixture-lineage\tlocal\nfx/tuned@first\tbackplane:managed\tfixture-lineage", "fx/tuned/child"));
  await save("zfs-get", "forged-rows", datasetPropertiesTabs(userProps).command);
  await save("zfs-get-json", "forged-rows", datasetProperties(userProps).command);
  await save("zfs-get-json", "forged-rows-local", localProperties.command);
  await save("zfs-get", "forged-rows-local", localPropertiesTabs.command);
  await save("zfs-list-names", "forged-rows", objectNames.command);
  await must(argv("zpool", "destroy", "fx"));
  await t.close();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
