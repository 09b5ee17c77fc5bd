/**
 * Captures the restore facts (provider/zfs/restore-facts.ts) from a running lab host into
 * test/fixtures/zfs-get-snapshots/ and test/fixtures/zfs-get-dataset/, every form the host
 * answers (json = OpenZFS 2.3, tabs = before it, legacy = zfs-fuse), as <label>-<case>.<form>.{cmd,txt}.
 * Also the host's whole refresh then (test/fixtures/refresh/<label>-restore.{txt,nonce}).
 * Builds a throw-away pool `fxr` on the host's second disk and destroys it afterwards; the
 * host should have no other pools (the refresh fixture would carry them).
 *
 *   npx tsx test/lab/capture-restore.ts prod zfs-2.3                         (vm lab)
 *   BACKPLANE_LAB_DIR=… BACKPLANE_LAB_HOSTS=…/hosts.json npx tsx test/lab/capture-restore.ts prod zfs-fuse-0.7   (own ns lab)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { labHost } from "./hosts.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { argv, toDisplay, type Argv } from "../../provider/model/argv.js";
import { propertiesOf, snapshotsOf } from "../../provider/zfs/restore-facts.js";
import { randomBytes } from "node:crypto";
import { batchScript } from "../../provider/engine/batch.js";
import { refreshItems } from "../../provider/engine/live.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const [hostName = "prod", label = "zfs-2.3"] = process.argv.slice(2);
const h = labHost(hostName);
const t = new SshTransport({ alias: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.hostKey, knownHostsFile: h.knownHostsFile, commandPrefix: [], connectTimeout: 15 });

async function must(cmd: Argv): Promise<string> {
  const r = await t.run(cmd);
  if (r.exitCode !== 0) throw new Error(`${toDisplay(cmd)}: ${r.stderr}`);
  return r.stdout;
}

/** Saves the output of every form that answers (exit 0); a form the host lacks is skipped and said. */
async function saveForms(fact: string, name: string, forms: { form: string; command: Argv }[]) {
  const dir = join(fixtures, fact);
  await mkdir(dir, { recursive: true });
  for (const { form, command } of forms) {
    const r = await t.run(command);
    if (r.exitCode !== 0) {
      console.log(`skipped ${fact}/${label}-${name}.${form}: exit ${r.exitCode}: ${r.stderr.split("\n")[0]}`);
      continue;
    }
    await writeFile(join(dir, `${label}-${name}.${form}.cmd`), toDisplay(command) + "\n");
    await writeFile(join(dir, `${label}-${name}.${form}.txt`), r.stdout);
    console.log(`captured ${fact}/${label}-${name}.${form} (${r.stdout.length} bytes)`);
  }
}

const snapshotForms = (ds: string) => {
  const f = snapshotsOf(ds);
  return [{ form: "json", command: f.command }, ...f.fallbacks.map((x) => ({ form: x.name, command: x.command }))];
};
const propertyForms = (ds: string) => {
  const f = propertiesOf(ds);
  return [{ form: "json", command: f.command }, ...f.fallbacks.map((x) => ({ form: x.name, command: x.command }))];
};

try {
  await must(argv("sh", "-c", "zpool destroy -f fxr 2>/dev/null; true"));
  await must(argv("zpool", "create", "-f", "-O", "mountpoint=/fxr", "fxr", h.disks[1]!));
  // a managed dataset: a snapshot carrying its own marker, one inheriting it (not ownership),
  // one of another stack, a held one, data written between them; a managed dataset with a
  // child that has a snapshot of its own (not listed: -d 1; restore refuses the parent); one
  // whose newer snapshot has a clone (restore to the older one refuses)
  await must(argv("sh", "-c", [
    "set -e",
    "zfs create -o compression=gzip -o 'com.example:team=media team' -o backplane:managed=fixture-lineage fxr/app",
    "dd if=/dev/urandom of=/fxr/app/a bs=64k count=4 2>/dev/null",
    "zfs snapshot -o backplane:managed=fixture-lineage fxr/app@s1",
    "dd if=/dev/urandom of=/fxr/app/b bs=64k count=8 2>/dev/null",
    "zfs snapshot fxr/app@inherits-marker",
    "dd if=/dev/urandom of=/fxr/app/c bs=64k count=2 2>/dev/null",
    "zfs snapshot -o backplane:managed=other-lineage fxr/app@foreign",
    "zfs snapshot fxr/app@held",
    "zfs hold keep fxr/app@held",
    "zfs create -o backplane:managed=fixture-lineage fxr/parent",
    "zfs snapshot fxr/parent@p1",
    "zfs create fxr/parent/child",
    "zfs snapshot fxr/parent/child@c1",
    "zfs create -o backplane:managed=fixture-lineage fxr/cloned",
    "zfs snapshot fxr/cloned@a",
    "zfs snapshot fxr/cloned@b",
    "zfs clone fxr/cloned@b fxr/cloned-b",
    "rm /fxr/app/b",
    // a dataset whose name and snapshot name hold spaces
    "zfs create 'fxr/with space'",
    "zfs snapshot 'fxr/with space@snap with space'",
    "zfs create fxr/empty",
  ].join("\n")));
  await saveForms("zfs-get-snapshots", "app", snapshotForms("fxr/app"));
  await saveForms("zfs-get-snapshots", "with-space", snapshotForms("fxr/with space"));
  await saveForms("zfs-get-snapshots", "parent", snapshotForms("fxr/parent"));
  await saveForms("zfs-get-snapshots", "cloned", snapshotForms("fxr/cloned"));
  await saveForms("zfs-get-snapshots", "none", snapshotForms("fxr/empty"));
  await saveForms("zfs-get-dataset", "app", propertyForms("fxr/app"));
  await saveForms("zfs-get-dataset", "cloned", propertyForms("fxr/cloned"));
  // the host's refresh at the same moment: the restore planner's tests read names, origins and markers from it
  const nonce = randomBytes(6).toString("hex");
  const r = await t.script(batchScript(refreshItems([]), nonce));
  if (r.exitCode !== 0) throw new Error(r.stderr);
  await writeFile(join(fixtures, "refresh", `${label}-restore.nonce`), `${nonce}\n`);
  await writeFile(join(fixtures, "refresh", `${label}-restore.txt`), r.stdout);
  console.log(`captured refresh/${label}-restore (${r.stdout.length} bytes)`);
  await must(argv("sh", "-c", "zfs release keep fxr/app@held; zfs list -H -o name -r fxr | sort -r | while read -r f; do zfs umount \"$f\" 2>/dev/null; done; zpool destroy -f fxr"));
} finally {
  await t.close();
}
